"""``sild gateway access grant --purpose --valid-from --valid-until`` (issue 20) through the real entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli._main import _register, cli


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


def sild(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_grant_with_purposes_and_window_is_listed(tmp_path: Path) -> None:
    d = str(tmp_path)
    assert sild("gateway", "client", "add", d, "EE/GOV/70000001/tax", "--registered").exit_code == 0
    assert sild("gateway", "service", "add", d, "EE/GOV/70000001/tax", "--rest", "http://b/api", "--code", "persons",
                "--enable").exit_code == 0
    done = sild("gateway", "access", "grant", d, "EE/GOV/70000001/tax/persons", "EE/COM/20000002/app",
                "--purpose", "tax-assessment", "--purpose", "audit", "--valid-from", "2027-01-01",
                "--valid-until", "2027-06-30T12:00:00+03:00")
    assert done.exit_code == 0, done.output
    assert "for tax-assessment, audit from 2027-01-01T00:00:00Z until 2027-06-30T09:00:00Z" in done.output
    [right] = json.loads(sild("gateway", "access", "list", d, "--json").output)
    assert right["purposes"] == ["tax-assessment", "audit"]
    assert (right["valid_from"], right["valid_until"]) == ("2027-01-01T00:00:00Z", "2027-06-30T09:00:00Z")
    assert "for tax-assessment, audit" in sild("gateway", "access", "list", d).output
    # a plain grant shows no terms, as before
    assert sild("gateway", "service", "add", d, "EE/GOV/70000001/tax", "--rest", "http://b/api2", "--code", "other",
                "--enable").exit_code == 0
    plain = sild("gateway", "access", "grant", d, "EE/GOV/70000001/tax/other", "EE/COM/20000002/app")
    assert plain.output.strip() == "granted SUBSYSTEM:EE/COM/20000002/app -> EE/GOV/70000001/tax/other * **"
    listed = {r["service_code"]: r for r in json.loads(sild("gateway", "access", "list", d, "--json").output)}
    assert listed["other"]["purposes"] == [] and listed["other"]["valid_until"] is None


@pytest.mark.parametrize("args, message", [
    (["--valid-until", "2027-01-01T08:00:00"], "--valid-until '2027-01-01T08:00:00' has no time zone"),
    (["--valid-from", "tomorrow"], "--valid-from 'tomorrow' is not a date"),
    (["--valid-from", "2027-02-01", "--valid-until", "2027-01-01"], "must be after valid_from"),
    (["--purpose", "no spaces"], "purpose code 'no spaces'"),
])
def test_bad_terms_are_one_line_errors_and_grant_nothing(tmp_path: Path, args: list[str], message: str) -> None:
    d = str(tmp_path)
    sild("gateway", "client", "add", d, "EE/GOV/70000001/tax", "--registered")
    sild("gateway", "service", "add", d, "EE/GOV/70000001/tax", "--rest", "http://b/api", "--code", "persons")
    bad = sild("gateway", "access", "grant", d, "EE/GOV/70000001/tax/persons", "EE/COM/20000002/app", *args)
    assert bad.exit_code == 1 and message in bad.output and "Traceback" not in bad.output
    assert len(bad.output.strip().splitlines()) == 1
    assert json.loads(sild("gateway", "access", "list", d, "--json").output) == []
