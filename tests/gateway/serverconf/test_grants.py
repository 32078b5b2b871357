"""Purpose- and time-bound grants (issue 20): the terms, how they are stored, how they decide."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gateway.db import open_engine
from gateway.serverconf import AccessChecker, AlreadyExists, InvalidInput, Operation, ServerConf, make_terms, parse_instant
from gateway.serverconf._grants import NO_TERMS, refusal
from trust.protocol import MemberId, SecurityServerId, SubsystemId

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
HOUR = dt.timedelta(hours=1)
OWNER = MemberId("EE", "GOV", "70000001")
PROVIDER = OWNER.subsystem("tax")
CONSUMER = SubsystemId("EE", "COM", "20000002", "app")


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def conf(tmp_path: Path, clock: Clock) -> ServerConf:
    c = ServerConf(open_engine(tmp_path / "gw.db"), clock=clock, refresh_interval=0)
    c.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
    c.add_client(PROVIDER, state="REGISTERED")
    c.add_client(CONSUMER, state="REGISTERED")
    c.add_wsdl(PROVIDER, "http://b/s.wsdl", operations=[Operation("getTax", None, "http://b/")], enabled=True)
    c.add_rest(PROVIDER, "http://b/api", "persons", enabled=True, endpoints=[("GET", "/persons/{id}")])
    return c


def test_terms_are_checked_when_made() -> None:
    assert make_terms(["a", "b", "a"]).purposes == ("a", "b")
    with pytest.raises(InvalidInput, match="purpose code"):
        make_terms(["has space"])
    with pytest.raises(InvalidInput, match="time zone"):
        make_terms(valid_from=dt.datetime(2026, 1, 1))
    with pytest.raises(InvalidInput, match="must be after"):
        make_terms(valid_from=T0, valid_until=T0)
    with pytest.raises(InvalidInput, match="at most 32"):
        make_terms([f"p{i}" for i in range(33)])


def test_instants_an_operator_writes() -> None:
    assert parse_instant("2027-01-01", "--valid-from") == dt.datetime(2027, 1, 1, tzinfo=dt.timezone.utc)
    assert parse_instant("2027-01-01T08:00:00+02:00", "x") == dt.datetime(2027, 1, 1, 6, tzinfo=dt.timezone.utc)
    assert parse_instant("2027-01-01T08:00Z", "x") == dt.datetime(2027, 1, 1, 8, tzinfo=dt.timezone.utc)
    assert parse_instant(None, "x") is None
    with pytest.raises(InvalidInput, match="no time zone"):
        parse_instant("2027-01-01T08:00:00", "--valid-until")
    with pytest.raises(InvalidInput, match="--valid-until 'soon'"):
        parse_instant("soon", "--valid-until")


def test_each_reason() -> None:
    terms = make_terms(["tax-assessment"], T0, T0 + HOUR)
    assert terms.problem("tax-assessment", T0) is None
    assert terms.problem("tax-assessment", T0 + HOUR - dt.timedelta(microseconds=1)) is None
    assert str(terms.problem("tax-assessment", T0 - HOUR)).startswith("grant not yet valid: the right holds from 2026-06-01T12:00:00Z")
    assert str(terms.problem("tax-assessment", T0 + HOUR)).startswith("grant expired: the right held until 2026-06-01T13:00:00Z")
    assert str(terms.problem(None, T0)).startswith("purpose required: ")
    assert "(tax-assessment)" in str(terms.problem(None, T0))
    assert str(terms.problem("marketing", T0)).startswith("purpose not granted: 'marketing'")
    assert NO_TERMS.problem(None, T0) is None and NO_TERMS.problem("anything", T0 + 1000 * HOUR) is None


def test_one_admitting_right_is_enough_else_the_most_useful_reason() -> None:
    expired = make_terms(valid_until=T0)
    other_purpose = make_terms(["audit"])
    assert refusal([expired, NO_TERMS], None, T0) is None
    assert str(refusal([expired, other_purpose], "tax", T0)).startswith("purpose not granted")
    assert str(refusal([expired, other_purpose], None, T0)).startswith("purpose required")
    assert str(refusal([expired], "tax", T0)).startswith("grant expired")


def test_stored_terms_come_back_in_the_snapshot(conf: ServerConf) -> None:
    terms = make_terms(["tax-assessment", "audit"], T0, T0 + HOUR)
    conf.grant(PROVIDER, "getTax", CONSUMER, terms=terms)
    [right] = conf.list_rights(PROVIDER, "getTax")
    assert right.terms == terms
    with pytest.raises(AlreadyExists):
        conf.grant(PROVIDER, "getTax", CONSUMER, terms=make_terms(["x"]))


def test_invalid_terms_write_nothing(conf: ServerConf) -> None:
    from gateway.serverconf import GrantTerms
    with pytest.raises(InvalidInput):
        conf.grant(PROVIDER, "getTax", CONSUMER, terms=GrantTerms(("bad code",)))
    assert conf.list_rights(PROVIDER) == []


def test_decision_weighs_purpose_and_window_at_the_clock(conf: ServerConf, clock: Clock) -> None:
    checker = AccessChecker(conf.snapshot, clock=clock)
    service = PROVIDER.service("getTax")
    conf.grant(PROVIDER, "getTax", CONSUMER, terms=make_terms(["tax-assessment"], T0, T0 + HOUR))
    assert checker.decide(CONSUMER, service, purpose="tax-assessment").allowed
    denied = checker.decide(CONSUMER, service)
    assert denied.leaf == "access_denied" and denied.message.startswith("purpose required")
    assert f"{CONSUMER.typed_text()} calling" in denied.message
    assert checker.decide(CONSUMER, service, purpose="marketing").message.startswith("purpose not granted")
    assert checker.decide(CONSUMER, service, purpose="tax-assessment", at=T0 - HOUR).message.startswith(
        "grant not yet valid")
    clock.now = T0 + HOUR  # expires by itself: nothing ran, the clock moved
    assert checker.decide(CONSUMER, service, purpose="tax-assessment").message.startswith("grant expired")
    assert checker.allowed_services(PROVIDER, CONSUMER) == []
    clock.now = T0
    assert [s.id.service_code for s in checker.allowed_services(PROVIDER, CONSUMER)] == ["getTax"]


def test_rest_endpoint_grant_with_purpose(conf: ServerConf) -> None:
    checker = AccessChecker(conf.snapshot, clock=lambda: T0)
    conf.grant(PROVIDER, "persons", CONSUMER, method="GET", path="/persons/{id}", terms=make_terms(["kyc"]))
    service = PROVIDER.service("persons")
    assert checker.decide(CONSUMER, service, protocol="REST", method="GET", path="/persons/1", purpose="kyc").allowed
    refused = checker.decide(CONSUMER, service, protocol="REST", method="GET", path="/persons/1")
    assert refused.message.startswith("purpose required") and "GET /persons/1" in refused.message
    # no matching right at all stays X-Road's message
    other = checker.decide(CONSUMER, service, protocol="REST", method="POST", path="/persons/1", purpose="kyc")
    assert other.message.startswith("request is not allowed")


def test_plain_grant_behaves_as_x_road(conf: ServerConf) -> None:
    checker = AccessChecker(conf.snapshot, clock=lambda: T0 + 10_000 * HOUR)
    conf.grant(PROVIDER, "getTax", CONSUMER)
    assert checker.decide(CONSUMER, PROVIDER.service("getTax")).allowed
    assert checker.decide(CONSUMER, PROVIDER.service("getTax"), purpose="whatever").allowed


def test_rights_made_before_the_migration_keep_x_roads_meaning(tmp_path: Path) -> None:
    """0004 adds the terms' columns to a database at 0003; a right written without them
    (as before the migration) has no terms and admits any request at any time."""
    from sqlalchemy import text

    from gateway.db import migrate_database

    engine = open_engine(tmp_path / "old.db", migrate=False)
    migrate_database(engine, "0003_audit_log")
    with engine.begin() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(access_right)"))}
        assert "purposes" not in columns
    migrate_database(engine, "head")
    with engine.begin() as conn:
        columns = {row[1] for row in conn.execute(text("PRAGMA table_info(access_right)"))}
        assert {"purposes", "valid_from", "valid_until"} <= columns
        assert "purpose" in {row[1] for row in conn.execute(text("PRAGMA table_info(ml_record)"))}
    conf = ServerConf(engine, clock=lambda: T0, refresh_interval=0)
    conf.set_identity(SecurityServerId("EE", "GOV", "70000001", "ss1"))
    conf.add_client(PROVIDER, state="REGISTERED")
    conf.add_wsdl(PROVIDER, "http://b/s.wsdl", operations=[Operation("getTax", None, "http://b/")], enabled=True)
    with engine.begin() as conn:  # a right as 0003 wrote it: no terms columns given
        conn.execute(text("INSERT INTO access_right (client_id, endpoint_id, subject, granted_at) "
                          "SELECT e.client_id, e.id, 'SUBSYSTEM:EE/COM/20000002/app', '2026-01-01 00:00:00.000000' "
                          "FROM endpoint e"))
        conn.execute(text("UPDATE conf_state SET counter = counter + 1"))
    [right] = conf.list_rights(PROVIDER)
    assert right.terms == NO_TERMS
    checker = AccessChecker(conf.snapshot, clock=lambda: T0 + 10_000 * HOUR)
    assert checker.decide(CONSUMER, PROVIDER.service("getTax")).allowed
