"""trust.infra._clock: the one wall-clock reading gives aware UTC moments."""

from __future__ import annotations

import datetime as dt

from trust.infra import utc_now


def test_utc_now_is_aware_utc_and_current() -> None:
    before = dt.datetime.now(dt.timezone.utc)
    moment = utc_now()
    after = dt.datetime.now(dt.timezone.utc)
    assert moment.tzinfo is not None
    assert moment.utcoffset() == dt.timedelta(0)
    assert before <= moment <= after

