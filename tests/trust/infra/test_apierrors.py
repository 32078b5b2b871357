"""The one error shape of the admin APIs and the code -> status table lookup."""

from __future__ import annotations

from trust.errors import IdentifierError, SildError, TrustError
from trust.infra import error_body, error_codes, status_for


class _Base(SildError):
    code = "demo.base"


class _Leaf(_Base):
    code = "demo.leaf.specific"


def test_error_body_has_code_and_message_beside_the_legacy_fields() -> None:
    assert error_body("a.b", "no") == {"code": "a.b", "message": "no"}
    nested = error_body("a.b", "no", error={"code": "a.b", "message": "no"})
    assert nested["error"] == {"code": "a.b", "message": "no"} and nested["code"] == "a.b"
    assert error_body("a.b", "no", error="a.b") == {"error": "a.b", "code": "a.b", "message": "no"}


def test_codes_run_from_the_instance_to_the_root() -> None:
    codes = list(error_codes(_Leaf("x", code="demo.other")))
    assert codes == ["demo.other", "demo", "demo.leaf.specific", "demo.leaf", "demo.base", "sild.error", "sild"]


def test_status_table_by_code_and_family() -> None:
    table = {"demo.base": 404, "trust": 400}
    assert status_for(_Leaf("x"), table, 500) == 404
    assert status_for(_Leaf("x", code="demo.private"), table, 500) == 404
    assert status_for(IdentifierError("bad"), table, 500) == 400
    assert status_for(TrustError("x", code="trust.tsa.bad_cert"), table, 500) == 400
    assert status_for(SildError("x"), table, 500) == 500
