"""``sild gateway client|service|access|localgroup|log|apikey`` through the real ``sild`` entry point."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from gateway.cli._main import _register, cli
from gateway.messagelog import LogEntry, MessageLog
from gateway.db import open_engine
from trust.protocol import SubsystemId

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture(scope="module", autouse=True)
def _commands() -> None:
    _register()


def sild(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_configuration_commands(tmp_path: Path, xroad: Path) -> None:
    d = str(tmp_path)
    assert sild("gateway", "client", "add", d, "EE/GOV/70000001/tax", "--registered").exit_code == 0
    assert sild("gateway", "client", "add", d, "EE/COM/20000002/app", "--is-auth", "https").exit_code == 0
    dup = sild("gateway", "client", "add", d, "EE/GOV/70000001/tax")
    assert dup.exit_code == 1 and "already exists [gateway.serverconf.already_exists]" in dup.output
    clients = json.loads(sild("gateway", "client", "list", d, "--json").output)
    assert [(c["id"], c["state"], c["is_auth"]) for c in clients] == [
        ("EE/COM/20000002/app", "SAVED", "https"), ("EE/GOV/70000001/tax", "REGISTERED", "http")]

    wsdl = str(xroad / "services" / "wsdl" / "valid.wsdl")
    added = sild("gateway", "service", "add", d, "EE/GOV/70000001/tax", "--wsdl", "http://b/valid.wsdl", "--file", wsdl)
    assert added.exit_code == 0 and "disabled" in added.output
    assert sild("gateway", "service", "add", d, "EE/GOV/70000001/tax", "--rest", "http://b/api", "--code", "persons",
                "--enable").exit_code == 0
    assert sild("gateway", "service", "add", d, "EE/GOV/70000001/tax", "--rest", "http://b/api").exit_code == 1
    assert sild("gateway", "service", "enable", d, "EE/GOV/70000001/tax/xroadGetRandom").exit_code == 0
    assert sild("gateway", "service", "disable", d, "EE/GOV/70000001/tax/persons", "--notice", "later").exit_code == 0
    services = {s["id"]: s for s in json.loads(sild("gateway", "service", "list", d, "--json").output)}
    assert services["SERVICE:EE/GOV/70000001/tax/xroadGetRandom/v1"]["enabled"] is True
    assert services["SERVICE:EE/GOV/70000001/tax/persons"]["disabled_notice"] == "later"
    assert sild("gateway", "service", "endpoint", d, "EE/GOV/70000001/tax/persons", "GET", "/p/{id}").exit_code == 0

    assert sild("gateway", "access", "grant", d, "EE/GOV/70000001/tax/xroadGetRandom", "EE/COM/20000002/app").exit_code == 0
    assert sild("gateway", "access", "grant", d, "EE/GOV/70000001/tax/persons", "GLOBALGROUP:EE/banks",
                "--method", "GET", "--path", "/p/{id}").exit_code == 0
    bad = sild("gateway", "access", "grant", d, "EE/GOV/70000001/tax/nope", "EE/COM/20000002/app")
    assert bad.exit_code == 1 and "service_not_found" in bad.output
    rights = json.loads(sild("gateway", "access", "list", d, "--json").output)
    assert {(r["service_code"], r["subject"]) for r in rights} == {
        ("xroadGetRandom", "SUBSYSTEM:EE/COM/20000002/app"), ("persons", "GLOBALGROUP:EE/banks")}
    assert sild("gateway", "access", "revoke", d, "EE/GOV/70000001/tax/xroadGetRandom", "EE/COM/20000002/app").exit_code == 0

    assert sild("gateway", "localgroup", "add", d, "EE/GOV/70000001/tax", "clerks").exit_code == 0
    assert sild("gateway", "localgroup", "add-member", d, "EE/GOV/70000001/tax", "clerks", "EE/COM/20000002/app").exit_code == 0
    groups = json.loads(sild("gateway", "localgroup", "list", d, "--json").output)
    assert groups == [{"owner": "EE/GOV/70000001/tax", "code": "clerks", "description": "", "members": ["EE/COM/20000002/app"]}]

    key = sild("gateway", "apikey", "create", d, "--role", "auditor", "--label", "audit")
    assert key.exit_code == 0 and "sild_" in key.output
    assert "auditor" in sild("gateway", "apikey", "list", d).output


def test_log_export(tmp_path: Path) -> None:
    log = MessageLog(open_engine(tmp_path / "messagelog.db"), clock=lambda: T0)
    message = b"<env>q-cli</env>"
    signature = b"<sig>" + hashlib.sha512(message).hexdigest().encode() + b"</sig>"
    client, service = SubsystemId("EE", "COM", "2", "app"), SubsystemId("EE", "GOV", "1", "tax").service("s")
    for direction in ("request", "response"):
        log.append(LogEntry(query_id="q-cli", client=client, service=service, side="client", direction=direction,
                            kind="SOAP", message=message + direction.encode(), signature=signature))
    out = tmp_path / "resp.asice"
    result = sild("gateway", "log", "export", str(tmp_path), "--query-id", "q-cli", "--out", str(out), "--direction", "response")
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as z:
        assert z.read("message.xml") == message + b"response"
    missing = sild("gateway", "log", "export", str(tmp_path), "--query-id", "nope", "--out", str(out))
    assert missing.exit_code == 1 and "gateway.messagelog.not_found" in missing.output


def test_log_archive_and_verify(tmp_path: Path) -> None:
    from typing import Sequence

    from gateway.messagelog import Timestamper
    from gateway.messagelog._timestamper import BatchStamp

    log = MessageLog(open_engine(tmp_path / "messagelog.db"), clock=lambda: T0)
    client, service = SubsystemId("EE", "COM", "2", "app"), SubsystemId("EE", "GOV", "1", "tax").service("s")
    for n in range(3):
        log.append(LogEntry(query_id=f"q-{n}", client=client, service=service, side="client", direction="request",
                            kind="SOAP", message=b"<m%d/>" % n, signature=b"<s%d/>" % n, logged_at=T0))

    def stamper(signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        return BatchStamp(b"token", b"<result/>", [b"<chain/>"] * len(signatures))

    Timestamper(log, stamper).run_all(T0)
    log.close()
    result = sild("gateway", "log", "archive", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "archived 3 record(s) in 1 file(s)" in result.output
    ok = sild("gateway", "log", "verify-archives", str(tmp_path), "--chain-only")
    assert ok.exit_code == 0 and "chain intact" in ok.output
    # the records here are no real evidence (fake signatures): each container is named as failing
    containers = sild("gateway", "log", "verify-archives", str(tmp_path))
    assert containers.exit_code == 1 and "gateway.archive.container_invalid" in containers.output
    assert containers.output.count("-request-client-") == 3
    (archive,) = (tmp_path / "archive").glob("mlog-*.zip")
    data = bytearray(archive.read_bytes())
    data[200] ^= 0xFF
    archive.write_bytes(bytes(data))
    broken = sild("gateway", "log", "verify-archives", str(tmp_path))
    assert broken.exit_code == 1 and "gateway.archive.chain_broken" in broken.output
