"""The admin API's access rights with purposes and a validity window (issue 20), over real HTTP."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from tests.gateway.admin.test_admin import CONSUMER, PROVIDER, Admin, error_code


@pytest.fixture
def admin(tmp_path: Path) -> Iterator[Admin]:
    a = Admin(tmp_path)
    a.conf.add_client(PROVIDER, state="REGISTERED")
    a.conf.add_client(CONSUMER, state="REGISTERED")
    a.conf.add_rest(PROVIDER, "http://127.0.0.1:9/api", "persons", enabled=True)
    yield a
    a.close()


GRANT = {"provider": "EE/GOV/70000001/tax", "service_code": "persons", "subject": "EE/COM/20000002/app"}


def test_grant_with_terms_is_shown_as_granted(admin: Admin) -> None:
    created = admin.call("POST", "/api/v1/access-rights", role="service-admin",
                         json={**GRANT, "purposes": ["tax-assessment"], "valid_from": "2026-01-01",
                               "valid_until": "2026-12-31T23:00:00+02:00"})
    assert created.status_code == 201, created.text
    terms = {"purposes": ["tax-assessment"], "valid_from": "2026-01-01T00:00:00Z",
             "valid_until": "2026-12-31T21:00:00Z"}
    assert {k: created.json()[k] for k in terms} == terms
    [right] = admin.call("GET", "/api/v1/access-rights", role="viewer").json()["access_rights"]
    assert {k: right[k] for k in terms} == terms
    # the admin's view of allowedMethods weighs the window at the gateway's clock (T0: 2026-06-01)
    allowed = admin.call("GET", "/api/v1/clients/EE:COM:20000002:app/allowed-services?provider=EE/GOV/70000001/tax")
    assert [s["service_code"] for s in allowed.json()["services"]] == ["persons"]


def test_expired_right_is_not_allowed(admin: Admin) -> None:
    assert admin.call("POST", "/api/v1/access-rights", json={**GRANT, "valid_until": "2026-05-01"}).status_code == 201
    allowed = admin.call("GET", "/api/v1/clients/EE:COM:20000002:app/allowed-services?provider=EE/GOV/70000001/tax")
    assert allowed.json()["services"] == []


@pytest.mark.parametrize("terms, code, text", [
    ({"purposes": "tax"}, "gateway.admin.bad_field", "'purposes' must be a list"),
    ({"purposes": ["bad code"]}, "gateway.serverconf.invalid_input", "purpose code 'bad code'"),
    ({"valid_until": "2026-13-01"}, "gateway.serverconf.invalid_input", "valid_until '2026-13-01'"),
    ({"valid_from": "2026-02-01T00:00:00"}, "gateway.serverconf.invalid_input", "has no time zone"),
    ({"valid_from": "2026-02-01", "valid_until": "2026-01-01"}, "gateway.serverconf.invalid_input", "must be after"),
])
def test_bad_terms_are_400_and_grant_nothing(admin: Admin, terms: dict[str, object], code: str, text: str) -> None:
    refused = admin.call("POST", "/api/v1/access-rights", json={**GRANT, **terms})
    assert refused.status_code == 400 and error_code(refused) == code and text in refused.text
    assert admin.call("GET", "/api/v1/access-rights").json()["access_rights"] == []
