"""The health verdict's rules: which X-Road code traffic gets, and what is only a warning."""

from __future__ import annotations

import datetime as dt
from typing import Any

from gateway.node._health import health, health_lines

AT = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
GOOD = {"status": "good", "this_update": "2026-06-01T11:50:00Z", "accepted_until": "2026-06-01T12:50:00Z"}


def _report(**parts: Any) -> dict[str, Any]:
    report: dict[str, Any] = {
        "server": "EE/GOV/70000001/gw1", "instance": "EE",
        "configuration": {"EE": {"valid": True, "expires_at": "2026-06-01T13:00:00Z"}},
        "ocsp": {"last_error": None, "certificates": {"auth": dict(GOOD), "sign": dict(GOOD)}},
        "timestamping": {"timestamping_overdue": False, "timestamping_failing_since": None},
        "maintenance": {"enabled": False, "message": None},
    }
    report.update(parts)
    return report


def test_a_healthy_gateway_is_ok() -> None:
    assert health(_report(), AT) == {"status": "ok", "code": "ok", "problems": []}


def test_overdue_timestamping_stops_traffic_and_failing_within_grace_warns() -> None:
    overdue = health(_report(timestamping={"timestamping_overdue": True, "last_timestamp_error": "TSA down"}), AT)
    assert (overdue["status"], overdue["code"]) == ("failing", "mlog_timestamper_failed")
    assert "TSA down" in overdue["problems"][0]["message"]
    failing = health(_report(timestamping={"timestamping_overdue": False, "last_timestamp_error": "TSA down",
                                           "timestamping_failing_since": "2026-06-01T11:00:00Z"}), AT)
    assert (failing["status"], failing["code"]) == ("degraded", "ok")
    assert failing["problems"][0]["severity"] == "warning"


def test_a_stale_own_ocsp_response_is_cert_validation() -> None:
    stale = dict(GOOD, accepted_until="2026-06-01T11:59:59Z")
    verdict = health(_report(ocsp={"last_error": "responder down", "certificates": {"auth": stale}}), AT)
    assert verdict["code"] == "cert_validation"
    assert verdict["problems"] == [{"severity": "error", "code": "cert_validation", "message":
                                    "the OCSP response of own certificate auth is stale since "
                                    "2026-06-01T11:59:59Z: peers refuse it"}]
    fetch_fails = health(_report(ocsp={"last_error": "responder down", "certificates": {"auth": dict(GOOD)}}), AT)
    assert (fetch_fails["status"], fetch_fails["problems"][0]["severity"]) == ("degraded", "warning")


def test_a_failing_download_warns_while_the_held_copy_is_valid_and_the_worst_comes_first() -> None:
    error = {"code": "federation.conf.rolled_back", "message": "serial went back", "kept_previous": True}
    confs = {"EE": {"valid": True, "expires_at": "2026-06-01T13:00:00Z", "error": error},
             "FI": {"valid": False, "expires_at": None, "error": dict(error, code="federation.conf.unknown_verification_cert")}}
    verdict = health(_report(configuration=confs, maintenance={"enabled": True, "message": "move"}), AT)
    assert verdict["code"] == "maintenance_mode"
    assert [(p["severity"], p["code"]) for p in verdict["problems"]] == [
        ("error", "maintenance_mode"), ("warning", "federation.conf.rolled_back"),
        ("warning", "federation.conf.unknown_verification_cert")]
    expired = health(_report(configuration={"EE": dict(confs["EE"], valid=False)}), AT)
    assert [p["code"] for p in expired["problems"]] == ["global_conf_outdated"]  # its download error is the cause


def test_the_verdict_reads_as_sentences() -> None:
    report = _report(maintenance={"enabled": True, "message": None})
    report["health"] = health(report, AT)
    report["timestamping"]["tsas"] = [{"name": "EE TSA", "url": "http://tsa", "in_use": True, "last_timestamp": None}]
    report["message_log"] = {"records": 10, "bytes": 2 * 1048576, "unstamped": 1, "archive_backlog": 9,
                             "last_archive": {"file": "mlog-1.zip", "created_at": "2026-06-01T06:00:00Z", "records": 5}}
    assert health_lines(report) == [
        "  health: FAILING: traffic gets maintenance_mode",
        "    error [maintenance_mode]: the authority put this gateway in maintenance mode: other gateways do not "
        "route to it",
        "  maintenance mode: ON",
        "  TSA EE TSA (http://tsa, in use): last timestamp none recently",
        "  message log: 10 records, 2.0 MiB, 1 unstamped, 9 waiting for the archive; last archive mlog-1.zip at "
        "2026-06-01 06:00:00Z",
    ]
