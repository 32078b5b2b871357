"""``sild gateway service description add|list|refresh|set-url|delete`` against a WSDL served over real HTTP."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli._main import _register, cli

from tests.support.static_http import static_files

TAX = "EE/GOV/70000001/tax"


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


def sild(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_description_lifecycle(tmp_path: Path, xroad: Path) -> None:
    d = str(tmp_path)
    wsdl = xroad / "services" / "wsdl"
    assert sild("gateway", "client", "add", d, TAX, "--registered").exit_code == 0
    assert sild("gateway", "client", "add", d, "EE/COM/20000002/app").exit_code == 0
    with static_files() as (base, files):
        files["/tax.wsdl"] = (wsdl / "valid.wsdl").read_bytes()
        files["/other.wsdl"] = (wsdl / "valid-additional-services.wsdl").read_bytes()
        added = sild("gateway", "service", "description", "add", d, TAX, "--wsdl", f"{base}/tax.wsdl")
        assert added.exit_code == 0 and "disabled" in added.output
        listed = json.loads(sild("gateway", "service", "description", "list", d, "--json").output)
        assert [(x["id"], x["type"], x["enabled"], len(x["service_codes"])) for x in listed] == [(1, "WSDL", False, 3)]
        assert sild("gateway", "service", "enable", d, f"{TAX}/xroadGetRandom").exit_code == 0
        assert sild("gateway", "access", "grant", d, f"{TAX}/xroadGetRandom", "EE/COM/20000002/app").exit_code == 0

        files["/tax.wsdl"] = (wsdl / "valid-getrandom.wsdl").read_bytes()
        refreshed = sild("gateway", "service", "description", "refresh", d, "1")
        assert refreshed.exit_code == 0, refreshed.output
        assert "removed (with their rights): xroadBigAttachment, xroadSmallAttachment" in refreshed.output
        again = json.loads(sild("gateway", "service", "description", "refresh", d, "1", "--json").output)
        assert again["added"] == again["removed"] == [] and again["description"]["enabled"] is True
        rights = json.loads(sild("gateway", "access", "list", d, "--json").output)
        assert [r["service_code"] for r in rights] == ["xroadGetRandom"]

        moved = sild("gateway", "service", "description", "set-url", d, "1", f"{base}/other.wsdl")
        assert moved.exit_code == 0 and "added: getRandom, helloService" in moved.output
        missing = sild("gateway", "service", "description", "set-url", d, "1", f"{base}/gone.wsdl")
        assert missing.exit_code == 1 and "HTTP 404" in missing.output
        bad = sild("gateway", "service", "description", "refresh", d, "7")
        assert bad.exit_code == 1 and "no service description 7" in bad.output

    deleted = sild("gateway", "service", "description", "delete", d, "1")
    assert deleted.exit_code == 0 and "getRandom, helloService" in deleted.output
    assert "no descriptions" in sild("gateway", "service", "description", "list", d).output
    assert json.loads(sild("gateway", "access", "list", d, "--json").output) == []
