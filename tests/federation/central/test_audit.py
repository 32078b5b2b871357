"""The authority's audit log through its served management API and through ``sild central`` commands.

The management app runs in a real WSGI server on 127.0.0.1 over an authority
directory; the CLI runs the real command group on the same directory, so both land
in the registry's ``audit_entries``, read back through ``GET /api/v1/audit``, the
``audit`` command and the database file (for secrets).
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from cheroot import wsgi
from click.testing import CliRunner

from federation.central.api import CentralAppConfig, create_app
from federation.central.registry import CentralDir, init_central
from gateway.cli import _main as sild_cli

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PIN = "central-audit-pin-0815"
PASSPHRASE = "central passphrase never stored"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[httpx.Client, dict[str, str], Path]]:
    directory = tmp_path_factory.mktemp("central") / "ee"
    init_central(str(directory), instance="EE", url="http://127.0.0.1:4000", pin=PIN, now=NOW)
    home = CentralDir(directory)
    keys = {role: home.registry().create_api_key(f"{role}-key", [role])
            for role in ("registration-officer", "security-officer", "system-admin")}
    home.close()
    server = wsgi.Server(("127.0.0.1", 0), create_app(CentralAppConfig(directory=directory, clock=lambda: NOW)))
    server.prepare()
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    http = httpx.Client(base_url=f"http://127.0.0.1:{server.bind_addr[1]}", timeout=30, trust_env=False)
    yield http, {role: f"Bearer {key}" for role, key in keys.items()}, directory
    http.close()
    server.stop()
    thread.join(timeout=5)


def _audit(http: httpx.Client, keys: dict[str, str], **query: Any) -> list[dict[str, Any]]:
    answer = http.get("/api/v1/audit", headers={"Authorization": keys["security-officer"]}, params=query)
    assert answer.status_code == 200, answer.text
    return list(answer.json()["entries"])


def _sild(*args: str) -> Any:
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    return CliRunner().invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN})


def _stored(directory: Path) -> str:
    with sqlite3.connect(directory / "registry.db") as db:
        return "\n".join(str(row) for row in db.execute("SELECT * FROM audit_entries"))


def test_management_calls_are_recorded_with_key_name_address_and_outcome(served) -> None:  # type: ignore[no-untyped-def]
    http, keys, _directory = served
    added = http.post("/api/v1/members", headers={"Authorization": keys["registration-officer"]},
                      json={"id": "EE/GOV/70000001", "name": "Tax Board"})
    assert added.status_code == 201, added.text
    refused = http.post("/api/v1/members", headers={"Authorization": keys["security-officer"]},
                        json={"id": "EE/GOV/70000002", "name": "x"})
    assert refused.status_code == 403
    assert http.get("/api/v1/members", headers={"Authorization": keys["security-officer"]}).status_code == 200
    forbidden, ok = _audit(http, keys, limit=2)
    assert {k: ok[k] for k in ("channel", "actor", "source", "operation", "params", "outcome", "status")} == {
        "channel": "api", "actor": "registration-officer-key", "source": "127.0.0.1", "operation": "POST /api/v1/members",
        "params": {"id": "EE/GOV/70000001", "name": "Tax Board"}, "outcome": "ok", "status": None}
    assert (forbidden["actor"], forbidden["outcome"], forbidden["status"]) == ("security-officer-key", "api.forbidden",
                                                                               403)


def test_a_backup_passphrase_is_not_stored(served) -> None:  # type: ignore[no-untyped-def]
    http, keys, directory = served
    answer = http.post("/api/v1/backup", headers={"Authorization": keys["system-admin"]}, json={"passphrase": PASSPHRASE})
    assert answer.status_code == 200
    (newest,) = _audit(http, keys, limit=1)
    assert (newest["operation"], newest["params"]) == ("POST /api/v1/backup", {"passphrase": "[redacted]"})
    assert PASSPHRASE not in _stored(directory)


def test_reading_needs_a_security_officer_and_pages(served) -> None:  # type: ignore[no-untyped-def]
    http, keys, _directory = served
    assert http.get("/api/v1/audit", headers={"Authorization": keys["registration-officer"]}).status_code == 403
    bad = http.get("/api/v1/audit", headers={"Authorization": keys["security-officer"]}, params={"limit": "x"})
    assert bad.status_code == 400 and bad.json()["code"] == "api.invalid_query"
    first = http.get("/api/v1/audit", headers={"Authorization": keys["security-officer"]}, params={"limit": 1}).json()
    rest = _audit(http, keys, before=first["next_before"])
    assert [e["id"] for e in first["entries"] + rest] == list(range(first["entries"][0]["id"], 0, -1))


def test_cli_changes_are_recorded_reads_are_not_and_the_chain_verifies(served) -> None:  # type: ignore[no-untyped-def]
    http, keys, directory = served
    before = len(_audit(http, keys, limit=1000))
    assert _sild("central", "member", "add", str(directory), "--member", "EE/COM/10000003", "--name", "Bank").exit_code == 0
    assert _sild("central", "member", "list", str(directory)).exit_code == 0
    assert _sild("central", "member", "remove", str(directory), "--member", "EE/COM/99999999").exit_code == 1
    created = _sild("central", "apikey", "create", str(directory), "--name", "cli-key", "--role", "system-admin")
    assert created.exit_code == 0
    entries = _audit(http, keys, limit=1000)
    assert len(entries) == before + 3
    apikey, remove, add = entries[:3]
    assert (add["channel"], add["operation"], add["outcome"]) == ("cli", "central member add", "ok")
    assert add["params"]["member"] == "EE/COM/10000003" and add["source"].startswith("cli ")
    assert remove["outcome"] != "ok"
    assert apikey["params"] == {"name": "cli-key", "roles": ["system-admin"]}
    assert created.output.strip() not in _stored(directory) and PIN not in _stored(directory)
    listed = _sild("central", "audit", str(directory), "--json", "--limit", "3")
    assert listed.exit_code == 0 and [e["id"] for e in json.loads(listed.output)] == [e["id"] for e in entries[:3]]
    verified = _sild("central", "audit", str(directory), "--verify")
    assert verified.exit_code == 0 and f"{len(entries)} entries, hash chain intact" in verified.output
