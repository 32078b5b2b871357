"""Server configuration: migrations, clients, services from X-Road's WSDL/OpenAPI vectors, rights, groups, snapshot."""

from __future__ import annotations

import datetime as dt
import threading
from pathlib import Path
from typing import Iterator

import pytest

from trust.errors import IdentifierError
from sqlalchemy import inspect, text

from gateway.serverconf import Operation, ServerConf
from gateway.db import open_engine
from gateway.db import DatabaseError, database_url
from gateway.serverconf import AlreadyExists, InvalidInput, NotFound
from gateway.serverconf._errors import (
    AccessRightNotFound, ClientNotFound, DescriptionNotFound, IdentityNotSet, LocalGroupNotFound,
    ServerConfError, ServiceNotFound,
)
from trust.protocol import GlobalGroupId, LocalGroupId, MemberId, SecurityServerId, SubsystemId

from tests.support.static_http import static_files
from tests.support import pki

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PROVIDER = SubsystemId("EE", "GOV", "70000001", "tax")
CONSUMER = SubsystemId("EE", "COM", "20000002", "app")


@pytest.fixture
def conf(tmp_path: Path) -> ServerConf:
    return ServerConf(open_engine(tmp_path / "gw.db"), clock=lambda: T0, refresh_interval=0)


def test_migration_creates_every_table_and_is_idempotent(tmp_path: Path) -> None:
    engine = open_engine(tmp_path / "m.db")
    open_engine(tmp_path / "m.db")  # second start: nothing to do, no error
    tables = set(inspect(engine).get_table_names())
    assert {"client", "service", "access_right", "local_group", "ml_record", "ml_timestamp", "op_record",
            "gateway_alembic_version", "audit_log", "cluster_state", "cluster_file", "tracker_rule", "tracker_entry",
            "gateway_ui_users", "gateway_ui_sessions", "gateway_ui_login_failures"} <= tables
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("SELECT version_num FROM gateway_alembic_version")).scalar() == "0007_tracker"
    normal = open_engine(tmp_path / "m.db", synchronous="NORMAL")
    with normal.connect() as conn:
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 1


def test_database_urls(tmp_path: Path) -> None:
    assert database_url(tmp_path / "x.db") == f"sqlite:///{tmp_path / 'x.db'}"
    assert database_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    with pytest.raises(DatabaseError, match="in-memory"):
        open_engine("sqlite://")
    with pytest.raises(DatabaseError, match="synchronous"):
        open_engine(tmp_path / "y.db", synchronous="OFF")


def test_identity(conf: ServerConf) -> None:
    with pytest.raises(IdentityNotSet):
        conf.identity()
    server = SecurityServerId("EE", "GOV", "70000001", "ss1")
    conf.set_identity(server)
    assert conf.identity() == server


def _cert_pem() -> bytes:
    cert = pki.self_signed(pki.new_key(), pki.name(CN="is"), serial=1, not_before=T0, not_after=T0 + dt.timedelta(days=1))
    return pki.pem(cert)


def test_clients_and_is_authentication(conf: ServerConf) -> None:
    info = conf.add_client(CONSUMER, is_auth="http", allowed_addresses=["127.0.0.1", "10.0.0.0/8"])
    assert [str(n) for n in info.allowed_networks] == ["127.0.0.1/32", "10.0.0.0/8"]
    with pytest.raises(AlreadyExists, match="already exists"):
        conf.add_client(CONSUMER)
    with pytest.raises(InvalidInput, match="IS authentication"):
        conf.add_client(PROVIDER, is_auth="ftp")
    with pytest.raises(InvalidInput, match="not an IP"):
        conf.add_client(PROVIDER, allowed_addresses=["localhost"])
    with pytest.raises(IdentifierError, match="colon"):  # X-Road's identifier rules hold for every identifier
        conf.add_client(SubsystemId("EE", "GOV", "1", "a:b"))
    conf.set_client_auth(CONSUMER, "https-cert")
    digest = conf.add_client_cert(CONSUMER, _cert_pem())
    with pytest.raises(InvalidInput, match="X.509"):
        conf.add_client_cert(CONSUMER, b"not a certificate")
    conf.set_client_state(CONSUMER, "REGISTERED")
    snap = conf.snapshot()
    client = snap.client(CONSUMER)
    assert client is not None and client.registered and client.is_auth == "https-cert"
    assert client.cert_hashes == frozenset({digest})
    conf.remove_client_cert(CONSUMER, digest)
    assert conf.snapshot().client(CONSUMER).cert_hashes == frozenset()  # type: ignore[union-attr]
    with pytest.raises(ClientNotFound):
        conf.set_client_state(PROVIDER, "REGISTERED")
    conf.remove_client(CONSUMER)
    assert conf.list_clients() == []


VALID_WSDLS = ["valid.wsdl", "xroad6.wsdl", "testservice.wsdl", "valid-additional-services.wsdl"]
INVALID_WSDLS = ["invalid.wsdl", "xxe.wsdl", "invalid-servicecode-colon.wsdl", "invalid-serviceurl.wsdl",
                 "invalid-serviceversion-percent.wsdl", "error.wsdl"]


@pytest.mark.parametrize("name", VALID_WSDLS, ids=VALID_WSDLS)
def test_wsdl_vectors_register(conf: ServerConf, xroad: Path, name: str) -> None:
    from trust.protocol import parse_wsdl

    document = (xroad / "services" / "wsdl" / name).read_bytes()
    expected = parse_wsdl(document)
    conf.add_client(PROVIDER, state="REGISTERED")
    desc = conf.add_wsdl(PROVIDER, f"http://127.0.0.1:1/{name}", document=document)
    assert desc.kind == "WSDL" and desc.disabled and desc.disabled_notice == "Out of order"
    services = conf.snapshot().services_of(PROVIDER)
    assert sorted((s.id.service_code, s.id.service_version) for s in services) == sorted(
        (op.name, op.version) for op in expected.operations
    )
    assert all(s.url == expected.endpoints[0] and s.disabled for s in services)


@pytest.mark.parametrize("name", INVALID_WSDLS, ids=INVALID_WSDLS)
def test_invalid_wsdl_vectors_are_refused(conf: ServerConf, xroad: Path, name: str) -> None:
    conf.add_client(PROVIDER)
    with pytest.raises(InvalidInput, match="WSDL"):
        conf.add_wsdl(PROVIDER, f"http://127.0.0.1:1/{name}", document=(xroad / "services" / "wsdl" / name).read_bytes())
    assert conf.list_descriptions() == []


@pytest.fixture
def wsdl_server(xroad: Path) -> Iterator[str]:
    with static_files() as (base, files):
        files["/valid.wsdl"] = (xroad / "services" / "wsdl" / "valid.wsdl").read_bytes()
        yield base


def test_wsdl_is_downloaded_from_its_url(conf: ServerConf, wsdl_server: str) -> None:
    conf.add_client(PROVIDER)
    desc = conf.add_wsdl(PROVIDER, f"{wsdl_server}/valid.wsdl", enabled=True)
    assert set(desc.service_codes) == {"xroadGetRandom", "xroadSmallAttachment", "xroadBigAttachment"}
    kind, stored = conf.description_document(PROVIDER, "xroadGetRandom")
    assert kind == "WSDL" and stored is not None and b"xroadGetRandom" in stored
    with pytest.raises(ServerConfError, match="HTTP 404") as info:
        conf.add_wsdl(PROVIDER, f"{wsdl_server}/missing.wsdl")
    assert info.value.code == "gateway.serverconf.fetch_failed"
    with pytest.raises(ServerConfError, match="cannot download"):
        conf.add_wsdl(PROVIDER, "http://127.0.0.1:1/nothing-listens-here.wsdl")
    with pytest.raises(InvalidInput, match="http"):
        conf.add_wsdl(PROVIDER, "file:///etc/passwd")


def test_openapi_vector_endpoints_become_rights_targets(conf: ServerConf, xroad: Path) -> None:
    conf.add_client(PROVIDER, state="REGISTERED")
    conf.add_client(CONSUMER)
    document = (xroad / "services" / "openapi" / "valid.yaml").read_bytes()
    desc = conf.add_openapi(PROVIDER, "http://127.0.0.1:1/openapi.yaml", "testapi", document=document, enabled=True)
    assert desc.kind == "OPENAPI"
    eps = {(e.method, e.path) for e in conf.snapshot().endpoints_of(PROVIDER, "testapi")}
    assert eps == {("*", "**"), ("GET", "/test"), ("POST", "/test")}
    assert conf.snapshot().services_of(PROVIDER)[0].url == "https://example.org/api"
    conf.grant(PROVIDER, "testapi", CONSUMER, method="GET", path="/test")
    with pytest.raises(NotFound, match="no endpoint"):
        conf.grant(PROVIDER, "testapi", CONSUMER, method="DELETE", path="/test")
    with pytest.raises(InvalidInput, match="OpenAPI"):
        conf.add_openapi(PROVIDER, "http://x/dup.yaml", "dup",
                         document=(xroad / "services" / "openapi" / "duplicateendpoint.yaml").read_bytes())


def test_services_enable_disable_update_remove(conf: ServerConf) -> None:
    conf.add_client(PROVIDER)
    desc = conf.add_rest(PROVIDER, "http://127.0.0.1:9/api", "persons")
    service = PROVIDER.service("persons")
    assert conf.snapshot().service(service).disabled  # type: ignore[union-attr]
    conf.set_service_enabled(service, True)
    assert not conf.snapshot().service(service).disabled  # type: ignore[union-attr]
    conf.set_service_enabled(service, False, "maintenance until 14:00")
    assert conf.snapshot().service(service).disabled_notice == "maintenance until 14:00"  # type: ignore[union-attr]
    conf.update_service(service, url="https://backend:8443/api", timeout_seconds=5, tls_verify=False)
    info = conf.snapshot().service(service)
    assert info is not None and (info.url, info.timeout_seconds, info.tls_verify) == ("https://backend:8443/api", 5, False)
    with pytest.raises(InvalidInput, match="timeout"):
        conf.update_service(service, timeout_seconds=0)
    with pytest.raises(AlreadyExists, match="persons"):
        conf.add_rest(PROVIDER, "http://127.0.0.1:9/other", "persons")
    with pytest.raises(InvalidInput, match="service code"):
        conf.add_rest(PROVIDER, "http://127.0.0.1:9/other", "bad/code")
    with pytest.raises(ServiceNotFound):
        conf.set_service_enabled(PROVIDER.service("nope"), True)
    conf.add_endpoint(PROVIDER, "persons", "get", "/persons/{id}")
    with pytest.raises(AlreadyExists):
        conf.add_endpoint(PROVIDER, "persons", "GET", "/persons/{id}")
    with pytest.raises(InvalidInput, match="method"):
        conf.add_endpoint(PROVIDER, "persons", "FETCH", "/x")
    conf.add_client(CONSUMER)
    conf.grant(PROVIDER, "persons", CONSUMER)
    conf.remove_description(desc.id)
    assert conf.snapshot().services_of(PROVIDER) == [] and conf.list_rights() == []
    with pytest.raises(DescriptionNotFound):
        conf.remove_description(desc.id)


def test_rights_and_local_groups(conf: ServerConf) -> None:
    conf.add_client(PROVIDER)
    conf.add_client(CONSUMER)
    conf.add_wsdl(PROVIDER, "http://x/s.wsdl", operations=[Operation("getPerson", "v1", "http://b/")])
    group = GlobalGroupId("EE", "security-server-owners")
    conf.grant(PROVIDER, "getPerson", CONSUMER)
    conf.grant(PROVIDER, "getPerson", group)
    with pytest.raises(AlreadyExists, match="already has access"):
        conf.grant(PROVIDER, "getPerson", CONSUMER)
    with pytest.raises(LocalGroupNotFound):
        conf.grant(PROVIDER, "getPerson", LocalGroupId("clerks"))
    conf.add_local_group(PROVIDER, "clerks", "front office")
    with pytest.raises(AlreadyExists):
        conf.add_local_group(PROVIDER, "clerks")
    conf.add_group_members(PROVIDER, "clerks", [CONSUMER, MemberId("EE", "COM", "3")])
    conf.grant(PROVIDER, "getPerson", LocalGroupId("clerks"))
    rights = conf.list_rights(PROVIDER, "getPerson")
    assert {r.subject for r in rights} == {CONSUMER, group, LocalGroupId("clerks")}
    (g,) = conf.list_local_groups(PROVIDER)
    assert g.members == frozenset({CONSUMER, MemberId("EE", "COM", "3")})
    conf.remove_group_members(PROVIDER, "clerks", [CONSUMER])
    with pytest.raises(NotFound):
        conf.remove_group_members(PROVIDER, "clerks", [CONSUMER])
    conf.revoke(PROVIDER, "getPerson", CONSUMER)
    with pytest.raises(AccessRightNotFound):
        conf.revoke(PROVIDER, "getPerson", CONSUMER)
    with pytest.raises(ServiceNotFound):
        conf.grant(PROVIDER, "nope", CONSUMER)
    conf.remove_local_group(PROVIDER, "clerks")  # its rights go with it
    assert {r.subject for r in conf.list_rights()} == {group}


def test_snapshot_follows_the_change_counter_across_nodes(tmp_path: Path) -> None:
    """Two nodes on one database: a write on one is seen by the other after its refresh interval."""
    engine = open_engine(tmp_path / "shared.db")
    node_a = ServerConf(engine, clock=lambda: T0, refresh_interval=0)
    node_b = ServerConf(open_engine(tmp_path / "shared.db"), clock=lambda: T0, refresh_interval=3600)
    first = node_b.snapshot()
    assert node_b.snapshot() is first  # cached
    node_a.add_client(CONSUMER)
    assert node_b.snapshot() is first  # inside the interval: no query at all
    node_b.refresh_interval = 0
    second = node_b.snapshot()
    assert second is not first and second.client(CONSUMER) is not None
    assert node_b.snapshot() is second  # counter unchanged: same object
    assert second.counter == node_a.counter() > first.counter


def test_failed_write_leaves_no_trace(conf: ServerConf) -> None:
    conf.add_client(PROVIDER)
    before = conf.counter()
    from gateway.db import schema as m

    with pytest.raises(RuntimeError):
        with conf.write() as s:
            s.add(m.LocalGroup(client_id=1, code="half", description="", updated_at=T0))
            s.flush()
            raise RuntimeError("crash between two statements")
    assert conf.counter() == before and conf.list_local_groups() == []


def test_simultaneous_first_starts_both_migrate(tmp_path: Path) -> None:
    """The server and a CLI command opening a new database at the same moment both succeed."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def start() -> None:
        try:
            barrier.wait(5)
            ServerConf(open_engine(tmp_path / "race.db")).counter()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    with open_engine(tmp_path / "race.db").connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM conf_state")).scalar() == 1


_STARTER = r"""
import sys, time
from gateway.serverconf._conf import ServerConf
from gateway.db import open_engine
while time.time() < float(sys.argv[2]):
    time.sleep(0.001)
print(ServerConf(open_engine(sys.argv[1])).counter())
"""


def test_simultaneous_first_starts_in_separate_processes(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys
    import time

    project = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=str(project))
    start_at = str(time.time() + 3.0)
    procs = [subprocess.Popen([sys.executable, "-c", _STARTER, str(tmp_path / "race.db"), start_at],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=project) for _ in range(3)]
    try:
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode()[-500:] for _, err in outputs]
    assert [out.strip() for out, _ in outputs] == [b"0", b"0", b"0"]


def test_a_gateway_and_an_authority_share_one_database_without_colliding(tmp_path: Path) -> None:
    """Their alembic chains, audit tables and UI account tables are named apart, so one database holds both."""
    from federation.central.registry import Registry

    db = tmp_path / "shared.db"
    open_engine(db).dispose()
    registry = Registry.open(db)
    tables = set(inspect(registry.engine).get_table_names())
    registry.engine.dispose()
    assert {"gateway_ui_users", "central_ui_users", "gateway_alembic_version", "alembic_version_registry"} <= tables
    open_engine(db).dispose()  # and the gateway opens it again: nothing to do, no error
