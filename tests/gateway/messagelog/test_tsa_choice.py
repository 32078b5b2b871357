"""The TSAs a gateway stamps with: the operator's choice among the approved ones, its order, and the fallover.

Real RFC 3161 TSAs over HTTP on 127.0.0.1 (``log_support.Tsa``) and a real SQLite log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from gateway.db import open_engine
from gateway.messagelog import (STATE_TSA_FAILURE, STATE_TSA_SUCCESS, MessageLog, MessageLogConfig, Timestamper,
                                TimestampingOverdue, TsaNotApproved, choose_tsas, evidence_stamper, failover_stamper)
from gateway.messagelog._timestamper import TimestampingFailed
from gateway.settings import SetupError, tsa_choice

from tests.gateway.messagelog.log_support import T0, Tsa, entry


@dataclass(frozen=True)
class Approved:
    name: str
    url: str


A, B, C = Approved("A", "http://a/"), Approved("B", "http://b/"), Approved("C", "http://c/")


def test_no_choice_is_every_approved_tsa_in_the_configurations_order() -> None:
    assert choose_tsas([A, B, C], ()) == [A, B, C]


def test_the_choice_picks_by_url_or_name_in_the_operators_order() -> None:
    assert choose_tsas([A, B, C], ("C", "http://a/")) == [C, A]
    assert choose_tsas([A, B, C], ("B", "http://b/")) == [B]  # one TSA named twice is asked once


def test_a_tsa_the_configuration_does_not_approve_is_refused_with_its_code() -> None:
    with pytest.raises(TsaNotApproved) as info:
        choose_tsas([A, B], ("http://evil/", "A"))
    assert info.value.code == "gateway.messagelog.tsa_not_approved"
    assert "'http://evil/'" in info.value.message and "A (http://a/)" in info.value.message
    # a running node whose configuration withdrew a chosen TSA skips it and keeps the others
    assert choose_tsas([A, B], ("http://evil/", "B"), strict=False) == [B]


def test_the_setting_keeps_the_order_and_drops_blanks_and_repeats() -> None:
    assert tsa_choice(" http://b/, A ,,http://b/") == ("http://b/", "A")
    assert tsa_choice(["C", "A"]) == ("C", "A") and tsa_choice("") == ()


def test_the_setting_is_validated_and_kept_in_gateway_json(tmp_path: Path) -> None:
    from gateway.settings import NodeSettings, with_changes

    settings = NodeSettings(server="EE/GOV/70000001/gw1", instance="EE")
    changed = with_changes(settings, {"timestamping_services": ["http://b/", "A"]})  # a JSON list (PATCH)
    assert changed.timestamping_services == ("http://b/", "A")
    assert with_changes(settings, {"timestamping_services": "C, A"}).timestamping_services == ("C", "A")  # `set`
    changed.save(tmp_path)
    assert NodeSettings.load(tmp_path).timestamping_services == ("http://b/", "A")
    with pytest.raises(SetupError):
        with_changes(settings, {"timestamping_services": 3})


@pytest.fixture
def mlog(tmp_path: Path) -> MessageLog:
    return MessageLog(open_engine(tmp_path / "log.db"), clock=lambda: T0, config=MessageLogConfig(state_refresh_seconds=0))


@pytest.fixture(scope="module")
def tsas(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Tsa, Tsa]]:
    first = Tsa(tmp_path_factory.mktemp("tsa1"))
    second = Tsa(tmp_path_factory.mktemp("tsa2"), first.ca)
    yield first, second
    first.close()
    second.close()


def _stamper(mlog: MessageLog, *servers: Tsa) -> Timestamper:
    def make(tsa: Approved) -> object:
        server = next(s for s in servers if s.url == tsa.url)
        return evidence_stamper(server.client())

    return Timestamper(mlog, failover_stamper([Approved(f"T{n}", s.url) for n, s in enumerate(servers)], make))


def _state(mlog: MessageLog, key: str) -> str | None:
    from sqlalchemy import select

    from gateway.db import schema as m

    with mlog.engine.connect() as conn:
        return conn.execute(select(m.LogState.value).where(m.LogState.key == key)).scalar()


def test_a_failing_first_tsa_falls_over_to_the_next_and_each_outcome_is_kept(mlog: MessageLog,
                                                                             tsas: tuple[Tsa, Tsa]) -> None:
    first, second = tsas
    for n in range(3):
        mlog.append(entry(f"q-{n}"))
    stamper = _stamper(mlog, first, second)
    first.fail = True
    asked_first, asked_second = first.requests, second.requests
    try:
        assert stamper.run_all(T0) == 3
    finally:
        first.fail = False
    assert first.requests == asked_first + 1 and second.requests == asked_second + 1
    assert stamper.stamper.last_used == second.url  # type: ignore[attr-defined]
    assert all(mlog.get(i).timestamp_token for i in (1, 2, 3))
    failure = _state(mlog, STATE_TSA_FAILURE + first.url)
    assert failure is not None and failure.startswith(T0.isoformat()) and "TimestampUnavailable" in failure
    assert _state(mlog, STATE_TSA_SUCCESS + second.url) == T0.isoformat()
    assert mlog.status(T0)["last_timestamp_success"] == T0.isoformat()


def test_the_first_tsa_answering_is_the_only_one_asked(mlog: MessageLog, tsas: tuple[Tsa, Tsa]) -> None:
    first, second = tsas
    mlog.append(entry("q-1"))
    mlog.append(entry("q-2"))  # a batch (a single record is stamped inside its signature XML)
    asked_second = second.requests
    stamper = _stamper(mlog, first, second)
    assert stamper.run_all(T0) == 2
    assert second.requests == asked_second and stamper.stamper.last_used == first.url  # type: ignore[attr-defined]


def test_every_tsa_failing_fails_the_run_and_names_each(mlog: MessageLog, tsas: tuple[Tsa, Tsa]) -> None:
    first, second = tsas
    mlog.append(entry("q-1"))
    mlog.append(entry("q-2"))
    stamper = _stamper(mlog, first, second)
    first.fail = second.fail = True
    try:
        with pytest.raises(TimestampingFailed) as info:
            stamper.run_once(T0)
    finally:
        first.fail = second.fail = False
    assert first.url in info.value.message and second.url in info.value.message
    assert "TimestampUnavailable" in info.value.message
    assert "every chosen TSA failed" in str(mlog.status(T0)["last_timestamp_error"])
    assert _state(mlog, STATE_TSA_FAILURE + second.url) is not None
    assert mlog.get(1).timestamp_token is None  # nothing lost: the next run stamps it


def test_no_approved_tsa_chosen_fails_each_run_so_the_log_shows_it(mlog: MessageLog) -> None:
    import datetime as dt

    mlog.append(entry("q-1"))
    stamper = Timestamper(mlog, failover_stamper([], lambda tsa: evidence_stamper(None)))
    with pytest.raises(TimestampingFailed, match="no chosen timestamping service is approved"):
        stamper.run_once(T0)
    with pytest.raises(TimestampingOverdue):
        mlog.check_accepting(T0 + dt.timedelta(hours=5))
