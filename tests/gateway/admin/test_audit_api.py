"""The gateway's audit log through a served admin API and through ``sild gateway`` commands.

The admin app runs in a real WSGI server on 127.0.0.1 over the gateway directory's
own database; the CLI runs the real command group on the same directory, so both
channels land in one table, which is then read back through the API, the ``audit``
command and the database file itself (for secrets).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from cheroot import wsgi
from click.testing import CliRunner

from gateway.admin import AdminConfig, create_app
from gateway.cli import _main as sild_cli
from gateway.db import open_engine
from gateway.provision import init_gateway
from gateway.db import AuditRecord
from gateway.serverconf import AlreadyExists, ServerConf, create_api_key
from trust.infra import AuditEntry, AuditLog, begin_action, end_action, utc_now
from trust.keys import KeyType
from trust.protocol import parse_client

PIN = "audit-pin-4711"
PASSPHRASE = "audit passphrase never stored"


class Served:
    def __init__(self, gdir: Path) -> None:
        self.engine = open_engine(gdir / "serverconf.db")
        self.conf = ServerConf(self.engine, refresh_interval=0)
        self.keys = {role: create_api_key(self.conf, [role], f"{role}-bot")[1]
                     for role in ("admin", "service-admin", "auditor", "viewer")}
        self.server = wsgi.Server(("127.0.0.1", 0), create_app(AdminConfig(self.conf, directory=gdir)))
        self.server.prepare()
        self.thread = threading.Thread(target=self.server.serve, daemon=True)
        self.thread.start()
        self.http = httpx.Client(base_url=f"http://127.0.0.1:{self.server.bind_addr[1]}", timeout=30, trust_env=False)

    def call(self, method: str, path: str, role: str | None = "admin", **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.keys[role]}"} if role else {}
        return self.http.request(method, path, headers=headers, **kw)

    def audit(self, **query: Any) -> list[dict[str, Any]]:
        answer = self.call("GET", "/api/v1/audit", "auditor", params=query)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["entries"])

    def close(self) -> None:
        self.http.close()
        self.server.stop()
        self.thread.join(timeout=5)
        self.engine.dispose()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, Path]]:
    gdir = tmp_path_factory.mktemp("audit") / "gw"
    init_gateway(gdir, anchor=None, server="EE/GOV/70000001/gw1", pin=PIN, key_type=KeyType.EC_P256,
                 settings={"is_port": 0, "peer_port": 0})
    s = Served(gdir)
    yield s, gdir
    s.close()


def _sild(*args: str, **env: str) -> Any:
    sild_cli._register()  # noqa: SLF001 - what main() does before parsing
    return CliRunner().invoke(sild_cli.cli, list(args), env={"SILD_TOKEN_PIN": PIN, **env})


def _database_text(gdir: Path) -> str:
    with sqlite3.connect(gdir / "serverconf.db") as db:  # the file as someone with disk access reads it
        return "\n".join(str(row) for row in db.execute("SELECT * FROM audit_log"))


def test_a_state_changing_call_is_recorded_with_key_address_and_outcome(served) -> None:  # type: ignore[no-untyped-def]
    s, _gdir = served
    assert s.call("POST", "/api/v1/clients", "service-admin", json={"id": "EE/GOV/70000001/tax"}).status_code == 201
    assert s.call("GET", "/api/v1/clients", "viewer").status_code == 200  # reads are not recorded
    newest = s.audit(limit=1)[0]
    assert {k: newest[k] for k in ("channel", "actor", "source", "operation", "params", "outcome", "status")} == {
        "channel": "api", "actor": f"service-admin-bot (key {2})", "source": "127.0.0.1",
        "operation": "POST /api/v1/clients", "params": {"id": "EE/GOV/70000001/tax"}, "outcome": "ok", "status": None}
    # recorded once, in the transaction of the change (hence no HTTP status yet), not again after the answer
    assert [e["operation"] for e in s.audit()] == ["POST /api/v1/clients"]


def test_refusals_are_recorded_with_their_error_code(served) -> None:  # type: ignore[no-untyped-def]
    s, _gdir = served
    assert s.call("DELETE", "/api/v1/clients/EE:GOV:70000001:tax", "viewer").status_code == 403
    assert s.call("POST", "/api/v1/clients", None, json={"id": "EE/GOV/70000001/x"}).status_code == 401
    assert s.call("POST", "/api/v1/clients", "admin", json={"id": "EE/GOV/70000001/tax"}).status_code == 409
    conflict, anonymous, forbidden = s.audit(limit=3)
    assert (forbidden["actor"], forbidden["outcome"], forbidden["status"]) == ("viewer-bot (key 4)",
                                                                               "gateway.admin.forbidden", 403)
    assert (anonymous["actor"], anonymous["outcome"]) == ("-", "gateway.admin.unauthenticated")
    assert (conflict["outcome"], conflict["status"]) == ("gateway.serverconf.already_exists", 409)


def test_a_backup_passphrase_and_a_sneaked_api_key_never_reach_the_table(served) -> None:  # type: ignore[no-untyped-def]
    s, gdir = served
    answer = s.call("POST", "/api/v1/backup", json={"passphrase": PASSPHRASE})
    assert answer.status_code == 200
    sneaked = s.call("POST", "/api/v1/clients", "admin", json={"id": "EE/GOV/70000001/pin", "note": s.keys["admin"]})
    assert sneaked.status_code == 201
    note, backup = s.audit(limit=2)
    assert backup["operation"] == "POST /api/v1/backup" and backup["params"] == {"passphrase": "[redacted]"}
    assert note["params"]["note"] == "[redacted]"
    stored = _database_text(gdir)
    assert PASSPHRASE not in stored and s.keys["admin"] not in stored


def test_reading_needs_the_auditor_role_and_pages(served) -> None:  # type: ignore[no-untyped-def]
    s, _gdir = served
    assert s.call("GET", "/api/v1/audit", "viewer").json()["code"] == "gateway.admin.forbidden"
    assert s.call("GET", "/api/v1/audit", "auditor", params={"limit": "0"}).json()["code"] == "gateway.admin.bad_query"
    assert s.call("GET", "/api/v1/audit", "auditor", params={"since": "yesterday"}).status_code == 400
    first = s.call("GET", "/api/v1/audit", "auditor", params={"limit": 2}).json()
    second = s.call("GET", "/api/v1/audit", "auditor", params={"limit": 2, "before": first["next_before"]}).json()
    ids = [e["id"] for e in first["entries"] + second["entries"]]
    assert ids == sorted(ids, reverse=True) and len(set(ids)) == 4
    assert s.audit(since="2999-01-01") == []


def test_cli_commands_that_change_state_are_recorded_and_reads_are_not(served) -> None:  # type: ignore[no-untyped-def]
    s, gdir = served
    before = len(s.audit(limit=1000))
    assert _sild("gateway", "client", "add", str(gdir), "EE/GOV/70000001/cli").exit_code == 0
    assert _sild("gateway", "client", "list", str(gdir)).exit_code == 0
    failed = _sild("gateway", "client", "remove", str(gdir), "EE/GOV/70000001/nothere")
    assert failed.exit_code == 1
    created = _sild("gateway", "apikey", "create", str(gdir), "--role", "viewer", "--label", "cli-made")
    assert created.exit_code == 0
    assert _sild("gateway", "token", "login", str(gdir), "soft").exit_code == 0
    entries = s.audit(limit=1000)
    assert len(entries) == before + 4
    login, apikey, remove, add = entries[:4]
    assert (add["channel"], add["operation"], add["params"]["client_id"], add["outcome"]) == (
        "cli", "gateway client add", "EE/GOV/70000001/cli", "ok")
    assert add["source"].startswith("cli ") and add["actor"]
    assert remove["outcome"].startswith("gateway.serverconf.")
    assert apikey["params"] == {"label": "cli-made", "roles": ["viewer"]}
    assert login["operation"] == "gateway token login" and login["params"] == {"name": "soft"}
    secret = created.output.split()[-1]
    stored = _database_text(gdir)
    assert PIN not in stored and secret not in stored


def test_the_audit_command_lists_and_verifies(served) -> None:  # type: ignore[no-untyped-def]
    _s, gdir = served
    listed = _sild("gateway", "audit", str(gdir), "--json", "--limit", "2")
    assert listed.exit_code == 0 and len(json.loads(listed.output)) == 2
    text = _sild("gateway", "audit", str(gdir), "--limit", "1")
    assert text.exit_code == 0 and "->" in text.output
    assert _sild("gateway", "audit", str(gdir), "--since", "noon").exit_code == 2
    verified = _sild("gateway", "audit", str(gdir), "--verify")
    assert verified.exit_code == 0 and "hash chain intact" in verified.output, verified.output
    with sqlite3.connect(gdir / "serverconf.db") as db:
        db.execute("DROP TRIGGER audit_log_no_update")
        db.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = 2")
    broken = _sild("gateway", "audit", str(gdir), "--verify")
    assert broken.exit_code == 1 and "entry 2" in broken.output and "changed" in broken.output
    assert _sild("gateway", "audit", str(gdir.parent / "nothing")).exit_code == 1


def test_a_change_and_its_entry_commit_together_or_not_at_all(tmp_path: Path) -> None:
    conf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)
    log = AuditLog(conf.engine, AuditRecord.__table__)
    tax, other = parse_client("EE/GOV/70000001/tax"), parse_client("EE/GOV/70000001/other")

    def entry() -> AuditEntry:
        return AuditEntry(utc_now(), "cli", "operator", "cli host -", "gateway client add", {"client_id": str(tax)})

    action, token = begin_action(entry)
    try:
        conf.add_client(tax)
        with pytest.raises(AlreadyExists):
            conf.add_client(tax)  # a second write of the same action: recorded once, by the first
    finally:
        end_action(token)
    assert action.written and [r.operation for r in log.entries()] == ["gateway client add"]

    def broken() -> AuditEntry:
        raise RuntimeError("the audit entry cannot be made")

    action, token = begin_action(broken)
    try:
        with pytest.raises(RuntimeError):
            conf.add_client(other)
    finally:
        end_action(token)
    assert not action.written and other not in {c.id for c in conf.list_clients()}  # no entry, no change
    conf.add_client(other)  # without an action under way nothing is recorded
    assert len(log.entries()) == 1
    conf.engine.dispose()
