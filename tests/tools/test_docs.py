"""The generated tables of docs/ are what the code says (``python -m tools.docs`` rewrites them)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from tests.support.conformance import PROJECT_ROOT
from tools.docs import MEANINGS, TABLES, drifted, error_classes, render, sent_leaves


def test_the_generated_tables_are_what_the_code_says() -> None:
    assert drifted() == [], "run python -m tools.docs (make docs) and commit the pages"


def test_check_reports_nothing_and_exits_0_when_the_pages_are_current() -> None:
    run = subprocess.run([sys.executable, "-m", "tools.docs", "--check"], cwd=PROJECT_ROOT, capture_output=True,
                         text=True, timeout=120)
    assert (run.returncode, run.stderr) == (0, "")


def test_a_stale_table_is_rewritten() -> None:
    page, render_table = TABLES["fault-codes"]
    stale = ("intro\n<!-- generated: fault-codes (python -m tools.docs) -->\n| code | cause |\n"
             "<!-- end generated: fault-codes -->\nafter\n")
    assert render(page, stale) == ("intro\n<!-- generated: fault-codes (python -m tools.docs) -->\n"
                                   + render_table() + "<!-- end generated: fault-codes -->\nafter\n")


def test_every_code_a_gateway_sends_has_a_meaning_and_every_meaning_a_code() -> None:
    assert set(sent_leaves()) == set(MEANINGS)


def test_inconsistent_headers_is_in_both_error_tables() -> None:
    for page in ("docs/integrator-guide.md", "docs/protocols.md"):
        assert "inconsistent_headers`" in (PROJECT_ROOT / page).read_text()
    assert "`client.inconsistent_headers`" in (PROJECT_ROOT / "docs/integrator-guide.md").read_text()


def test_codes_only_read_from_older_peers_are_not_listed_as_sent() -> None:
    from trust.protocol import _faults

    assert "io_error" in _faults.KNOWN_LEAVES and "io_error" not in sent_leaves()


def test_sild_errors_behind_a_code_are_named_from_the_error_tree() -> None:
    assert error_classes()["trust.signature.revoked"] == "OcspRevoked"
    protocols = (PROJECT_ROOT / "docs/protocols.md").read_text()
    assert "`OcspRevoked` (trust.signature.revoked)" in protocols


def test_every_gateway_setting_is_documented_in_the_class() -> None:
    from gateway.settings import NodeSettings

    for item in dataclasses.fields(NodeSettings):
        assert len(item.metadata.get("doc", "")) > 20, item.name
        assert f"| `{item.name}` |" in (PROJECT_ROOT / "docs/configuration.md").read_text()
