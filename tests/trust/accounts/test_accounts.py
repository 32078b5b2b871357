"""UI accounts on a real SQLite database: users, logins, sessions, throttling, CSRF (issue 18).

Time is a clock the test moves; randomness is real except where a test must know the
session id. Password hashing uses cheap argon2 parameters (the rules are the same).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.operations import Operations
from argon2 import PasswordHasher
from sqlalchemy import MetaData, create_engine

from trust.accounts import (
    AccountExists, AccountInvalid, AccountUnknown, Accounts, LoginRefused, LoginThrottled, Passwords, Policy,
    account_tables, create_account_tables, csrf_matches, csrf_token, drop_account_tables, session_digest,
)

T0 = dt.datetime(2026, 12, 6, 8, 0, tzinfo=dt.timezone.utc)
GOOD = "correct horse battery"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)


def cheap() -> Passwords:
    return Passwords(PasswordHasher(time_cost=1, memory_cost=64, parallelism=1))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A database whose account tables were made as a role's migration makes them."""
    path = tmp_path / "ui.db"
    engine = create_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        create_account_tables(Operations(MigrationContext.configure(conn)))
    engine.dispose()
    return path


@pytest.fixture
def accounts(db: Path, clock: Clock) -> Accounts:
    engine = create_engine(f"sqlite:///{db}")
    return Accounts(engine, account_tables(MetaData()), passwords=cheap(), clock=clock)


def test_the_migration_makes_exactly_the_declared_tables_and_drops_them(db: Path) -> None:
    engine = create_engine(f"sqlite:///{db}")
    metadata = MetaData()
    account_tables(metadata)
    assert account_tables(metadata).users is metadata.tables["ui_users"]  # declaring twice is harmless
    with engine.begin() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
        drop_account_tables(Operations(MigrationContext.configure(conn)))
        assert compare_metadata(MigrationContext.configure(conn), MetaData()) == []
        assert not conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE name LIKE 'ui_%'").all()


def test_users_are_added_listed_changed_and_removed(accounts: Accounts) -> None:
    accounts.add_user("ana", GOOD, ["security-officer", "observer", "observer"])
    accounts.add_user("bo", GOOD, ["system-administrator"])
    assert [(u.name, u.roles, u.enabled) for u in accounts.users()] == [
        ("ana", ("security-officer", "observer"), True), ("bo", ("system-administrator",), True)]
    accounts.set_roles("bo", ["observer"])
    assert accounts.user("bo").roles == ("observer",)
    accounts.remove_user("bo")
    with pytest.raises(AccountUnknown):
        accounts.user("bo")
    with pytest.raises(AccountUnknown):
        accounts.remove_user("bo")
    with pytest.raises(AccountUnknown):
        accounts.set_password("nobody", GOOD)


@pytest.mark.parametrize("name, password, roles, message", [
    ("ana", GOOD, ["security-officer"], "exists already"),
    ("-x", GOOD, ["observer"], "user name"),
    ("a" * 65, GOOD, ["observer"], "user name"),
    ("cy", GOOD, ["admin"], "unknown role admin"),
    ("cy", GOOD, [], "at least one role"),
    ("cy", "short", ["observer"], "at least 12 characters"),
    ("cy", " " + GOOD, ["observer"], "start or end with a space"),
])
def test_bad_account_input_is_refused_with_a_reason_and_changes_nothing(
        accounts: Accounts, name: str, password: str, roles: list[str], message: str) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    with pytest.raises((AccountInvalid, AccountExists), match=message):
        accounts.add_user(name, password, roles)
    assert [u.name for u in accounts.users()] == ["ana"]


def test_a_login_opens_a_session_whose_id_is_stored_only_as_a_digest(accounts: Accounts, db: Path) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    login = accounts.login("ana", GOOD, "192.0.2.1")
    session = accounts.session(login.session_id)
    assert session is not None and session.user.name == "ana" and session.user.roles == ("observer",)
    assert session.csrf == csrf_token(login.session_id) == login.session.csrf
    stored = sqlite3.connect(db).execute("SELECT id_hash, password_hash FROM ui_sessions JOIN ui_users").fetchall()
    assert stored[0][0] == session_digest(login.session_id) != login.session_id
    assert stored[0][1].startswith("$argon2id$") and GOOD not in stored[0][1]
    assert accounts.session("not-a-session") is None and accounts.session("") is None
    assert accounts.session("x" * 500) is None


def test_a_refused_login_says_the_same_whatever_the_reason(accounts: Accounts) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    accounts.add_user("off", GOOD, ["observer"])
    accounts.set_enabled("off", False)
    messages = set()
    for name, password in [("ana", "wrong password!"), ("nobody", GOOD), ("off", GOOD)]:
        with pytest.raises(LoginRefused) as refused:
            accounts.login(name, password, "192.0.2.1")
        messages.add(str(refused.value))
    assert messages == {"wrong user name or password"}


def test_sessions_end_when_idle_and_after_the_absolute_limit(accounts: Accounts, clock: Clock) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    idle = accounts.login("ana", GOOD, "a").session_id
    clock.advance(minutes=29)
    assert accounts.session(idle) is not None       # used: the idle time starts again
    clock.advance(minutes=29)
    assert accounts.session(idle) is not None
    clock.advance(minutes=31)
    assert accounts.session(idle) is None
    assert accounts.session_count("ana") == 0         # an expired session is deleted when seen
    busy = accounts.login("ana", GOOD, "a").session_id
    for _ in range(12 * 3):
        clock.advance(minutes=20)
        if accounts.session(busy) is None:
            break
    assert clock.now - T0 - dt.timedelta(minutes=89) <= dt.timedelta(hours=12, minutes=20)
    assert accounts.session(busy) is None


def test_logout_password_change_disabling_and_removal_end_sessions(accounts: Accounts) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    first, second = (accounts.login("ana", GOOD, "a").session_id for _ in range(2))
    assert accounts.logout(first) and not accounts.logout(first)
    assert accounts.session(first) is None and accounts.session(second) is not None
    accounts.set_password("ana", "another good password")
    assert accounts.session(second) is None
    with pytest.raises(LoginRefused):
        accounts.login("ana", GOOD, "a")
    third = accounts.login("ana", "another good password", "a").session_id
    accounts.set_enabled("ana", False)
    assert accounts.session(third) is None
    accounts.set_enabled("ana", True)
    fourth = accounts.login("ana", "another good password", "a").session_id
    accounts.remove_user("ana")
    assert accounts.session(fourth) is None


def test_roles_changed_apply_to_open_sessions(accounts: Accounts) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    sid = accounts.login("ana", GOOD, "a").session_id
    accounts.set_roles("ana", ["security-officer"])
    session = accounts.session(sid)
    assert session is not None and session.user.roles == ("security-officer",)


def test_failed_logins_for_a_user_lock_it_until_they_age_out(accounts: Accounts, clock: Clock) -> None:
    accounts.add_user("ana", GOOD, ["observer"])
    for _ in range(5):
        with pytest.raises(LoginRefused):
            accounts.login("ana", "wrong password!", "192.0.2.1")
        clock.advance(seconds=10)
    with pytest.raises(LoginThrottled) as throttled:
        accounts.login("ana", GOOD, "198.51.100.7")  # the right password, from elsewhere: still locked
    assert throttled.value.retry_after == 15 * 60 - 50
    clock.advance(seconds=throttled.value.retry_after - 1)
    with pytest.raises(LoginThrottled):
        accounts.login("ana", GOOD, "192.0.2.1")
    clock.advance(seconds=1)
    assert accounts.login("ana", GOOD, "192.0.2.1").session.user.name == "ana"


def test_failed_logins_from_one_address_lock_that_address_for_every_user(db: Path, clock: Clock) -> None:
    accounts = Accounts(create_engine(f"sqlite:///{db}"), account_tables(MetaData()), passwords=cheap(), clock=clock,
                        policy=Policy(address_limit=3))
    accounts.add_user("ana", GOOD, ["observer"])
    for name in ("x1", "x2", "x3"):
        with pytest.raises(LoginRefused):
            accounts.login(name, GOOD, "203.0.113.9")
    with pytest.raises(LoginThrottled, match="try again in 900 seconds"):
        accounts.login("ana", GOOD, "203.0.113.9")
    assert accounts.login("ana", GOOD, "192.0.2.1").session.user.name == "ana"
    clock.advance(minutes=16)
    assert accounts.prune() == 3
    assert accounts.login("ana", GOOD, "203.0.113.9").session.user.name == "ana"


def test_csrf_tokens_are_bound_to_their_session() -> None:
    token = csrf_token("session-one")
    assert csrf_matches("session-one", token)
    assert not csrf_matches("session-two", token)
    assert not csrf_matches("session-one", None) and not csrf_matches("session-one", "")
    assert not csrf_matches("session-one", token[:-1] + "é")  # non-ASCII input is refused, not an error
    assert not csrf_matches("", csrf_token(""))


def test_a_hash_made_with_older_parameters_is_remade_at_login(db: Path, clock: Clock) -> None:
    engine = create_engine(f"sqlite:///{db}")
    old = Accounts(engine, account_tables(MetaData()), passwords=cheap(), clock=clock)
    old.add_user("ana", GOOD, ["observer"])
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=128, parallelism=1))
    new = Accounts(engine, account_tables(MetaData()), passwords=stronger, clock=clock)
    new.login("ana", GOOD, "a")
    stored = sqlite3.connect(db).execute("SELECT password_hash FROM ui_users").fetchone()[0]
    assert "m=128,t=2" in stored
    assert new.login("ana", GOOD, "a").session.user.name == "ana"


def test_the_store_works_on_postgresql(clock: Clock) -> None:
    import os

    from tests.pgserver import temporary_database

    server = os.environ.get("SILD_TEST_POSTGRES_URL")
    if not server:
        pytest.skip("no PostgreSQL server for this run")
    with temporary_database(server, "accounts") as url:
        engine = create_engine(url)
        try:
            with engine.begin() as conn:
                create_account_tables(Operations(MigrationContext.configure(conn)))
            accounts = Accounts(engine, account_tables(MetaData()), passwords=cheap(), clock=clock)
            accounts.add_user("ana", GOOD, ["observer"])
            sid = accounts.login("ana", GOOD, "192.0.2.1").session_id
            session = accounts.session(sid)
            assert session is not None and session.user.roles == ("observer",)
            assert session.started_at == T0  # time zones survive the round trip
            for _ in range(5):
                with pytest.raises(LoginRefused):
                    accounts.login("ana", "wrong password!", "192.0.2.1")
            with pytest.raises(LoginThrottled):
                accounts.login("ana", GOOD, "192.0.2.1")
            accounts.remove_user("ana")
            assert accounts.session(sid) is None
        finally:
            engine.dispose()
