"""The central registry: specific refusals, one transaction per change, migrations."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from federation.model import SECURITY_SERVER_OWNERS_GROUP
from federation.central.registry import Registry
from federation.central.registry._errors import (
    DuplicateAuthCert, DuplicateGateway, DuplicateMember, DuplicateName, DuplicateSubsystem, InUse,
    InvalidCertificate, InvalidSetting, NotInitialised, RegistryInvalidInput, UnknownGateway, UnknownMember,
    UnknownMemberClass, UnknownSubsystem, WrongInstance,
)
from federation.central.registry import Base
from trust.protocol import MemberId

from tests.support import pki

TAX = MemberId("EE", "GOV", "70000001")
BANK = MemberId("EE", "COM", "10000001")


def _cert(cn: str, now: dt.datetime) -> bytes:
    return pki.der(pki.self_signed(pki.new_key(), pki.name(CN=cn), not_before=now, not_after=now + dt.timedelta(days=1)))


@pytest.fixture
def registry(tmp_path: Path, now: dt.datetime) -> Registry:
    reg = Registry.open(tmp_path / "registry.db", clock=lambda: now)
    reg.initialise("EE")
    reg.add_member_class("GOV", "Government")
    reg.add_member_class("COM", "Commercial")
    reg.add_member(TAX, "Tax Board")
    reg.add_subsystem(TAX.subsystem("tax"), "Tax data")
    yield reg
    reg.close()


def _count(db: Path, table: str) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 - test table names


def test_specific_errors_and_nothing_changes(registry: Registry) -> None:
    serial = registry.info().serial
    cases = [
        (lambda: registry.add_member(TAX, "Again"), DuplicateMember, "federation.registry.duplicate_member"),
        (lambda: registry.add_member(MemberId("EE", "XYZ", "1"), "x"), UnknownMemberClass, "federation.registry.unknown_member_class"),
        (lambda: registry.add_member(MemberId("FI", "GOV", "1"), "x"), WrongInstance, "federation.registry.wrong_instance"),
        (lambda: registry.add_subsystem(TAX.subsystem("tax")), DuplicateSubsystem, "federation.registry.duplicate_subsystem"),
        (lambda: registry.add_subsystem(BANK.subsystem("x")), UnknownMember, "federation.registry.unknown_member"),
        (lambda: registry.add_member_class("GOV"), DuplicateName, "federation.registry.duplicate_name"),
        (lambda: registry.remove_member_class("GOV"), InUse, "federation.registry.in_use"),
        (lambda: registry.remove_gateway(TAX.server("nope")), UnknownGateway, "federation.registry.unknown_gateway"),
        (lambda: registry.set_setting("ocspFreshnessSeconds", "soon"), InvalidSetting, "federation.registry.invalid_setting"),
        (lambda: registry.set_setting("noSuchSetting", "1"), InvalidSetting, "federation.registry.invalid_setting"),
        (lambda: registry.add_ca("CA", b"not a cert", certificate_profile="x"), InvalidCertificate, "federation.registry.invalid_certificate"),
        (lambda: registry.create_api_key("k", ["root"]), RegistryInvalidInput, "federation.registry.invalid_input"),
    ]
    for call, exc_type, code in cases:
        with pytest.raises(exc_type) as info:
            call()
        assert info.value.code == code
    assert registry.info().serial == serial


def test_gateway_is_never_half_registered(registry: Registry, tmp_path: Path, now: dt.datetime) -> None:
    db = tmp_path / "registry.db"
    cert_a, cert_b = _cert("a", now), _cert("b", now)
    serial = registry.info().serial
    # the second client is unknown: neither the gateway, nor its cert, nor the first client may remain
    with pytest.raises(UnknownSubsystem):
        registry.add_gateway(TAX.server("ss1"), address="ss1.ee", auth_certs=[cert_a], clients=[TAX.subsystem("tax"), TAX.subsystem("nope")])
    assert (_count(db, "gateways"), _count(db, "gateway_auth_certs"), _count(db, "gateway_clients")) == (0, 0, 0)
    assert registry.info().serial == serial

    registry.add_gateway(TAX.server("ss1"), address="ss1.ee", auth_certs=[cert_a], clients=[TAX.subsystem("tax")])
    registry.add_member(BANK, "Bank")
    # the auth certificate belongs to ss1 already: the bank's gateway is refused as a whole
    with pytest.raises(DuplicateAuthCert):
        registry.add_gateway(BANK.server("gw"), address="gw.bank", auth_certs=[cert_b, cert_a])
    with pytest.raises(DuplicateGateway):
        registry.add_gateway(TAX.server("ss1"), address="x", auth_certs=[cert_b])
    assert [g["id"] for g in registry.gateways()] == ["EE/GOV/70000001/ss1"]
    assert _count(db, "gateway_auth_certs") == 1
    gateway = registry.gateways()[0]
    assert gateway["authCertHashes"] == [hashlib.sha256(cert_a).hexdigest()]
    assert gateway["clients"] == ["EE/GOV/70000001/tax"]


def test_security_server_owners_follow_gateways(registry: Registry, now: dt.datetime) -> None:
    def owners() -> list[str]:
        groups = {g.code: g for g in registry.snapshot().global_groups}
        return sorted(m.to_text() for m in groups[SECURITY_SERVER_OWNERS_GROUP].members)

    assert owners() == []
    registry.add_member(BANK, "Bank")
    registry.add_gateway(TAX.server("ss1"), address="a", auth_certs=[_cert("1", now)])
    registry.add_gateway(TAX.server("ss2"), address="b")
    registry.add_gateway(BANK.server("gw"), address="c")
    assert owners() == ["EE/COM/10000001", "EE/GOV/70000001"]
    registry.remove_gateway(TAX.server("ss1"))
    assert owners() == ["EE/COM/10000001", "EE/GOV/70000001"]
    registry.remove_gateway(TAX.server("ss2"))
    assert owners() == ["EE/COM/10000001"]
    with pytest.raises(InUse):
        registry.add_group_member(SECURITY_SERVER_OWNERS_GROUP, TAX)
    registry.remove_member(BANK)  # cascades to its gateway and the group
    assert owners() == []


def test_member_removal_cascades(registry: Registry, now: dt.datetime, tmp_path: Path) -> None:
    registry.add_global_group("tax-readers", "Readers")
    registry.add_group_member("tax-readers", TAX.subsystem("tax"))
    registry.add_gateway(TAX.server("ss1"), address="a", auth_certs=[_cert("1", now)], clients=[TAX.subsystem("tax")])
    registry.remove_member(TAX)
    db = tmp_path / "registry.db"
    for table in ("members", "subsystems", "gateways", "gateway_auth_certs", "gateway_clients", "global_group_members"):
        assert _count(db, table) == 0, table


def test_every_change_bumps_the_serial_once(registry: Registry) -> None:
    before = registry.info().serial
    registry.add_member(BANK, "Bank")
    registry.set_setting("confExpireIntervalSeconds", 900)
    assert registry.info().serial == before + 2
    assert registry.settings()["confExpireIntervalSeconds"] == "900"
    registry.create_api_key("ops", ["system-admin"])  # not part of the configuration
    assert registry.info().serial == before + 2


def test_concurrent_writers_queue_instead_of_failing(registry: Registry, tmp_path: Path, now: dt.datetime) -> None:
    """Two registry handles (as ``serve`` and a CLI command) writing at once: every change lands once."""

    other = Registry.open(tmp_path / "registry.db", clock=lambda: now)
    before = registry.info().serial
    assert _add_members_at_once(registry, other, 15) == []
    assert registry.info().serial == before + 30
    assert len(registry.members()) == 31


def test_settings_are_all_or_nothing(registry: Registry) -> None:
    with pytest.raises(InvalidSetting):
        registry.set_settings({"ocspFreshnessSeconds": 100, "confExpireIntervalSeconds": 1})
    assert registry.settings()["ocspFreshnessSeconds"] == "3600"
    registry.set_settings({"ocspFreshnessSeconds": 100, "centralUrl": "https://cs.example.ee/"})
    assert registry.settings()["ocspFreshnessSeconds"] == "100"
    assert registry.settings()["centralUrl"] == "https://cs.example.ee"


def test_api_keys_are_stored_hashed(registry: Registry, tmp_path: Path) -> None:
    key = registry.create_api_key("officer", ["registration-officer"])
    assert registry.authenticate_api_key(key) == ("officer", frozenset({"registration-officer"}))
    assert registry.authenticate_api_key(key + "x") is None
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("registry.db*"))
    assert key.encode() not in raw
    with pytest.raises(DuplicateName):
        registry.create_api_key("officer", ["security-officer"])
    registry.revoke_api_key("officer")
    assert registry.authenticate_api_key(key) is None


def test_signing_key_activation_retires_the_previous(registry: Registry, now: dt.datetime) -> None:
    registry.add_signing_key("k1", "internal", _cert("k1", now), status="active")
    registry.add_signing_key("k2", "internal", _cert("k2", now))
    snap = registry.snapshot()
    assert snap.active_key("internal").key_id == "k1"  # type: ignore[union-attr]
    assert [k.key_id for k in snap.published_keys("internal")] == ["k1", "k2"]
    registry.activate_signing_key("k2")
    snap = registry.snapshot()
    assert snap.active_key("internal").key_id == "k2"  # type: ignore[union-attr]
    assert [k.key_id for k in snap.published_keys("internal")] == ["k2"]
    with pytest.raises(InUse):
        registry.remove_signing_key("k2")
    registry.remove_signing_key("k1")
    assert [k[0] for k in registry.signing_keys()] == ["k2"]


def test_trusted_anchor_of_own_instance_is_refused(registry: Registry) -> None:
    with pytest.raises(WrongInstance):
        registry.add_trusted_anchor("EE", b"<anchor/>", generated_at=None)
    digest = registry.add_trusted_anchor("FI", b"<anchor/>", generated_at=None)
    assert digest == hashlib.sha224(b"<anchor/>").hexdigest()
    assert [a[0] for a in registry.trusted_anchors()] == ["FI"]


def test_uninitialised_registry_says_so(tmp_path: Path) -> None:
    reg = Registry.open(tmp_path / "empty.db")
    with pytest.raises(NotInitialised):
        reg.add_member_class("GOV")
    with pytest.raises(NotInitialised):
        reg.info()
    reg.close()


def test_migrations_match_the_models_and_are_idempotent(tmp_path: Path) -> None:
    reg = Registry.open(tmp_path / "r.db")
    reg.close()
    reg = Registry.open(tmp_path / "r.db")  # second start: nothing to do, nothing breaks
    with reg.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"version_table": "alembic_version_registry"})
        diff = [d for d in compare_metadata(context, Base.metadata)
                if not (d[0] == "remove_table" and d[1].name == "alembic_version_registry")]
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version_registry").scalar()
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
    reg.close()
    assert diff == []
    assert version == "0005_published_generations"
    assert mode == "wal"


def test_requests_stored_before_the_request_type_are_gateway_registrations(tmp_path: Path, now: dt.datetime) -> None:
    from federation.central.registry import list_requests
    from federation.central.registry._db import migrate_database, open_engine

    engine = open_engine(tmp_path / "r.db", migrate=False)
    migrate_database(engine, "0001_registry")
    with engine.begin() as conn:
        conn.exec_driver_sql("INSERT INTO registry_state (id, instance, serial, changed_at) VALUES (1, 'EE', 1, ?)",
                             (now.isoformat(),))
        conn.exec_driver_sql(
            "INSERT INTO registration_requests (status, server_id, auth_cert_der, auth_cert_sha256_hex, clients, "
            "document, received_at) VALUES ('submitted', 'EE/GOV/1/ss1', x'00', 'ab', '', x'7b7d', ?)",
            (now.isoformat(),))
    engine.dispose()
    reg = Registry.open(tmp_path / "r.db")  # migrates to 0002
    try:
        assert [(r.type, r.server) for r in list_requests(reg)] == [("authCertReg", "EE/GOV/1/ss1")]
    finally:
        reg.close()


@pytest.mark.skipif(not os.environ.get("SILD_TEST_POSTGRES_URL"), reason="set SILD_TEST_POSTGRES_URL to run on PostgreSQL")
def test_postgresql_same_operations(now: dt.datetime, tmp_path: Path) -> None:
    """Migrations, refusals, atomicity, concurrent writers and a whole authority on PostgreSQL."""

    from sqlalchemy import create_engine

    from federation.central.registry import CentralDir
    from federation.central.registry import init_central

    from sqlalchemy.engine import make_url

    base = make_url(os.environ["SILD_TEST_POSTGRES_URL"])
    name = f"sild_registry_test_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:  # a database of its own: other tests may share the server
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        conn.exec_driver_sql(f"CREATE DATABASE {name}")
    url = base.set(database=name).render_as_string(hide_password=False)
    init_central(str(tmp_path / "ee"), instance="EE", url="http://127.0.0.1:4000", pin="pin", now=now, database_url=url)
    home = CentralDir(tmp_path / "ee", clock=lambda: now)
    reg = home.registry()
    try:
        assert not (tmp_path / "ee" / "registry.db").exists()
        reg.add_member(TAX, "Tax Board")
        reg.add_subsystem(TAX.subsystem("tax"))
        with pytest.raises(DuplicateMember):
            reg.add_member(TAX, "Tax Board")
        with pytest.raises(UnknownSubsystem):
            reg.add_gateway(TAX.server("ss1"), address="a", auth_certs=[_cert("a", now)], clients=[TAX.subsystem("x")])
        assert reg.gateways() == []
        before = reg.info().serial
        other = Registry.open(url, clock=lambda: now)
        assert _add_members_at_once(reg, other, 10) == []
        assert reg.info().serial == before + 20  # no lost update of the change counter
        assert len(reg.snapshot().members) == 21
    finally:
        home.close()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
        admin.dispose()


@pytest.mark.parametrize(("change", "message", "code"), [
    (lambda r: r.remove_ca("nope"), "unknown approved CA 'nope'", "federation.registry.unknown_ca"),
    (lambda r: r.remove_tsa("nope"), "unknown approved TSA 'nope'", "federation.registry.unknown_tsa"),
    (lambda r: r.remove_trusted_anchor("FI"), "no trusted anchor of instance 'FI'", "federation.registry.unknown_anchor"),
    (lambda r: r.activate_signing_key("k1"), "unknown signing key 'k1'", "federation.registry.unknown_key"),
    (lambda r: r.remove_signing_key("k1"), "unknown signing key 'k1'", "federation.registry.unknown_key"),
    (lambda r: r.revoke_api_key("ops"), "unknown API key 'ops'", "federation.registry.unknown_api_key"),
    (lambda r: r.remove_global_group("G1"), "unknown global group 'G1'", "federation.registry.unknown_group"),
])
def test_changing_what_is_not_there_is_not_found(registry: Registry, change: object, message: str, code: str) -> None:
    from federation.central.registry._errors import RegistryNotFound

    serial = registry.info().serial
    with pytest.raises(RegistryNotFound) as info:
        change(registry)  # type: ignore[operator]
    assert (str(info.value), info.value.code) == (message, code)
    assert registry.info().serial == serial


@pytest.mark.parametrize(("add", "what"), [(Registry.add_member_class, "member class"),
                                            (Registry.add_global_group, "global group")])
def test_member_classes_and_global_groups_take_a_new_code_without_slash(registry: Registry, add: object,
                                                                         what: str) -> None:
    add(registry, "NEW", "described")  # type: ignore[operator]
    for code, error, message in [("", RegistryInvalidInput, f"invalid {what} code ''"),
                                 ("A/B", RegistryInvalidInput, f"invalid {what} code 'A/B'"),
                                 ("NEW", DuplicateName, f"{what} 'NEW' exists")]:
        with pytest.raises(error) as info:
            add(registry, code)  # type: ignore[operator]
        assert str(info.value) == message


def _add_members_at_once(first: Registry, second: Registry, count: int) -> list[BaseException]:
    """Two handles add ``count`` members each from two threads at once; ``second`` is closed after.

    Returns what the writers raised (nothing, when every change lands)."""
    import threading

    errors: list[BaseException] = []

    def writer(reg: Registry, prefix: str) -> None:
        try:
            for i in range(count):
                reg.add_member(MemberId("EE", "COM", f"{prefix}{i}"), f"Company {prefix}{i}")
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(reg, p)) for reg, p in ((first, "a"), (second, "b"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    second.close()
    return errors
