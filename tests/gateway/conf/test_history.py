"""The configuration history kept for evidence: runs per change, the run of a record's time.

The stored generation is laid out as the configuration client stores it (``conf/DEV``
with ``directory``, ``shared-params.xml``, ``metadata.json``), with X-Road's own signed
directory and shared parameters from the conformance folder.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from gateway.conf import ConfHistory

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
MINUTE = dt.timedelta(minutes=1)


def _store(gdir: Path, xroad: Path, downloaded: dt.datetime, *, shared_suffix: bytes = b"",
           directory_suffix: bytes = b"") -> None:
    served = xroad / "globalconf" / "served" / "V5"
    folder = gdir / "conf" / "DEV"
    folder.mkdir(parents=True, exist_ok=True)
    (gdir / "conf" / "instance-identifier").write_bytes(b"DEV")
    (folder / "directory").write_bytes((served / "internalconf").read_bytes() + directory_suffix)
    shared = next(served.glob("*/shared-params.xml")).read_bytes()
    (folder / "shared-params.xml").write_bytes(shared + shared_suffix)
    (folder / "metadata.json").write_text(json.dumps({"instance": "DEV", "downloadedAt": downloaded.isoformat()}))


def test_runs_start_with_a_change_and_keep_the_newest_directory(tmp_path: Path, xroad: Path) -> None:
    history = ConfHistory(tmp_path)
    _store(tmp_path, xroad, T0)
    assert history.record(T0) == 1
    _store(tmp_path, xroad, T0 + MINUTE, directory_suffix=b"\r\n")  # a new download, same parameters and key
    assert history.record(T0 + MINUTE) == 0
    runs = history.runs("DEV")
    assert len(runs) == 1 and runs[0].first_seen == T0 and runs[0].last_seen == T0 + MINUTE
    assert (runs[0].path / "directory").read_bytes().endswith(b"\r\n")  # the newest of the run is kept
    _store(tmp_path, xroad, T0 + 5 * MINUTE, shared_suffix=b"\n")  # the shared parameters changed
    assert history.record(T0 + 5 * MINUTE) == 1
    assert [r.path.name for r in history.runs("DEV")] == ["000001", "000002"]

    # a record takes the run first seen at or before its time; before the history: nothing
    assert history.run_at("DEV", T0 + 4 * MINUTE).path.name == "000001"  # type: ignore[union-attr]
    assert history.run_at("DEV", T0 + 5 * MINUTE).path.name == "000002"  # type: ignore[union-attr]
    assert history.run_at("DEV", T0 - MINUTE) is None
    assert history.carried(T0 - MINUTE) == []
    carried = dict(history.carried(T0 + 2 * MINUTE, ["DEV"]))
    assert set(carried) == {"instance-identifier", "DEV/directory", "DEV/shared-params.xml"}
    assert not carried["DEV/shared-params.xml"].endswith(b"\n\n") and carried["instance-identifier"] == b"DEV"
    assert dict(history.carried(T0 + 6 * MINUTE))["DEV/shared-params.xml"].endswith(b"\n")


def test_an_unreadable_stored_configuration_is_skipped_not_fatal(tmp_path: Path, xroad: Path) -> None:
    _store(tmp_path, xroad, T0)
    (tmp_path / "conf" / "DEV" / "directory").write_bytes(b"not a directory")
    assert ConfHistory(tmp_path).record(T0) == 0
    assert ConfHistory(tmp_path).runs("DEV") == []
