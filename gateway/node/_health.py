"""The parts of a gateway's status that say whether traffic passes now, and if not, why.

``sild gateway status`` once said "configuration valid" while every download failed,
and said nothing of maintenance mode; an operator needs the answer traffic would get.
So the report (:mod:`gateway.node._status`) gains what this module reads:

* **maintenance**: this gateway's own entry in its instance's configuration (X-Road's
  maintenance mode is set by the authority; client gateways then refuse to route to it);
* **TSAs**: per approved TSA of the own instance its last timestamp in the message
  log (read from the stored tokens: the signer of each token names its TSA) and
  whether the timestamper uses it, beside the age of the oldest unstamped record;
* **message log**: records and bytes held, unstamped records, the archive backlog
  (stamped, not yet archived) and the last archive;
* **health**: the X-Road error code traffic gets now, from the same rules the proxies
  apply: an expired own configuration (``global_conf_outdated``), maintenance
  (``maintenance_mode``), overdue timestamping (``mlog_timestamper_failed``), an own
  certificate without a good OCSP response peers still accept (``cert_validation``);
  and, for a balancer in front of a cluster (the health port), a database the node
  cannot reach (``database_unreachable``) or a drain (``draining``); else ``ok``. Failures that do not stop traffic yet (a download or an OCSP fetch
  failing while the held copy is still good, timestamping failing within its grace)
  are warnings with the underlying error's code.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Mapping, Sequence

from gateway.settings import NodeSettings

TOKENS_SCANNED = 500  # newest timestamps read to find each TSA's last one (tokens of ~3 KB; milliseconds)
MLOG_TIMESTAMPER_FAILED = "mlog_timestamper_failed"  # X-Road's code; sild's proxies raise it as a literal


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _aware(moment: dt.datetime | None) -> dt.datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def maintenance_status(own: Any, settings: NodeSettings) -> dict[str, Any]:
    """Whether the own instance's configuration puts this gateway in maintenance mode."""
    for server in getattr(own, "security_servers", ()) if own is not None else ():
        if server.server_id == settings.server_id:
            mode = server.maintenance
            return {"enabled": mode is not None, "message": mode.message if mode is not None else None}
    return {"enabled": False, "message": None}


def _token_signer(token: bytes) -> Any:
    """The signer identifier of an RFC 3161 token (``None`` when it does not parse)."""
    from asn1crypto import cms

    try:
        info = cms.ContentInfo.load(token)
        return info["content"]["signer_infos"][0]["sid"]
    except (ValueError, TypeError, KeyError, IndexError):
        return None


def _signed_by(sid: Any, cert_der: bytes) -> bool:
    from asn1crypto import x509 as asn1_x509

    try:
        cert = asn1_x509.Certificate.load(cert_der)
        if sid.name == "issuer_and_serial_number":
            return bool(sid.chosen["serial_number"].native == cert.serial_number
                        and sid.chosen["issuer"] == cert.issuer)
        return bool(cert.key_identifier == sid.chosen.native)
    except (ValueError, TypeError, KeyError):
        return False


def tsa_status(messagelog: Any, own: Any, chosen: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Per approved TSA of the own instance: its URL, whether it is in use and in which place
    (``chosen``: the setting ``timestamping_services``), its last timestamp, and the last
    success and failure of the timestamper's attempts with it."""
    from sqlalchemy import select

    from gateway.db import schema as m
    from gateway.messagelog import STATE_TSA_FAILURE, STATE_TSA_SUCCESS, choose_tsas

    tsas = list(getattr(own, "approved_tsas", ()) if own is not None else ())
    if not tsas:
        return []
    last: dict[int, dt.datetime] = {}
    with messagelog.engine.connect() as conn:
        rows = conn.execute(select(m.LogTimestamp.stamped_at, m.LogTimestamp.token)
                            .order_by(m.LogTimestamp.id.desc()).limit(TOKENS_SCANNED)).all()
    for stamped_at, token in rows:
        sid = _token_signer(bytes(token))
        for index, tsa in enumerate(tsas):
            if index not in last and sid is not None and _signed_by(sid, tsa.cert):
                last[index] = stamped_at
        if len(last) == len(tsas):
            break
    with messagelog.engine.connect() as conn:
        state = dict(conn.execute(select(m.LogState.key, m.LogState.value)
                                  .where(m.LogState.key.like("ts_tsa_%"))).all())
    # the timestamping job asks the chosen ones in this order (gateway.node._jobs)
    order = [t.url for t in choose_tsas(tsas, chosen, strict=False)]
    out = []
    for index, tsa in enumerate(tsas):
        # keys as the timestamper writes them: at most the column's 100 characters
        ok, failure = state.get((STATE_TSA_SUCCESS + tsa.url)[:100]), state.get((STATE_TSA_FAILURE + tsa.url)[:100])
        out.append({"name": tsa.name, "url": tsa.url, "in_use": tsa.url in order,
                    "order": order.index(tsa.url) + 1 if tsa.url in order else None,
                    "last_timestamp": _iso(_aware(last.get(index))),
                    "last_success": ok.split(" ", 1)[0] if ok else None,
                    "last_failure": failure.split(" ", 1)[0] if failure else None,
                    "last_error": failure.split(" ", 1)[1] if failure and " " in failure else None})
    return out


def _database_bytes(engine: Any) -> int | None:
    """The message log's size on disk: SQLite file plus WAL, or PostgreSQL's tables of the log."""
    from sqlalchemy import text

    if engine.dialect.name == "sqlite":
        path = engine.url.database
        if not path or path == ":memory:":
            return None
        return sum(p.stat().st_size for p in (Path(path), Path(path + "-wal")) if p.is_file())
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            return int(conn.execute(text(
                "SELECT coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
                "WHERE c.relkind = 'r' AND c.relname LIKE 'ml\\_%'")).scalar_one())
    return None


def messagelog_figures(messagelog: Any) -> dict[str, Any]:
    """Records held, bytes on disk, unstamped records, the archive backlog and the last archive."""
    from sqlalchemy import func, select

    from gateway.db import schema as m

    with messagelog.engine.connect() as conn:
        records = conn.execute(select(func.count()).select_from(m.LogRecord)).scalar_one()
        stamped = conn.execute(select(func.count()).select_from(m.LogRecordTimestamp)).scalar_one()
        backlog = conn.execute(
            select(func.count()).select_from(m.LogRecordTimestamp)
            .outerjoin(m.LogRecordArchive, m.LogRecordArchive.record_id == m.LogRecordTimestamp.record_id)
            .where(m.LogRecordArchive.record_id.is_(None))).scalar_one()
        archive = conn.execute(select(m.LogArchive.file_name, m.LogArchive.created_at, m.LogArchive.record_count)
                               .order_by(m.LogArchive.id.desc()).limit(1)).first()
    return {
        "records": int(records),
        "bytes": _database_bytes(messagelog.engine),
        "unstamped": max(0, int(records) - int(stamped)),
        "archive_backlog": int(backlog),
        "last_archive": None if archive is None else {
            "file": archive.file_name, "created_at": _iso(_aware(archive.created_at)),
            "records": int(archive.record_count)},
    }


def _problem(code: str, message: str, severity: str = "error") -> dict[str, str]:
    return {"severity": severity, "code": code, "message": message}


def _configuration_problems(report: Mapping[str, Any]) -> list[dict[str, str]]:
    out = []
    own = (report.get("configuration") or {}).get(report["instance"]) or {}
    if not own.get("valid"):
        what = f"expired at {own['expires_at']}" if own.get("expires_at") else "is not stored"
        out.append(_problem("global_conf_outdated", f"the configuration of {report['instance']} {what}: "
                                                    "every message is refused"))
    for inst, conf in (report.get("configuration") or {}).items():
        error = conf.get("error")
        if error and (inst != report["instance"] or own.get("valid")):
            kept = "the held copy stays in use" if conf.get("valid") else "none is in use"
            out.append(_problem(str(error.get("code")), f"downloading the configuration of {inst} fails "
                                f"({error.get('message')}); {kept}", "warning"))
    return out


def _ocsp_problems(ocsp: Mapping[str, Any], at: dt.datetime) -> list[dict[str, str]]:
    out = []
    now = _iso(at) or ""
    for name, cert in (ocsp.get("certificates") or {}).items():
        until = cert.get("accepted_until")
        if cert.get("status") != "good":
            out.append(_problem("cert_validation", f"own certificate {name} has no good OCSP response "
                                                   f"({cert.get('status')}): peers refuse it"))
        elif not until or until <= now:
            out.append(_problem("cert_validation", f"the OCSP response of own certificate {name} is stale "
                                                   f"since {until}: peers refuse it"))
    if ocsp.get("last_error") and not out:
        out.append(_problem("cert_validation", f"fetching OCSP responses fails ({ocsp['last_error']}); the held "
                                               "ones are still accepted", "warning"))
    return out


def _timestamping_problems(ts: Mapping[str, Any]) -> list[dict[str, str]]:
    if ts.get("timestamping_overdue"):
        return [_problem(MLOG_TIMESTAMPER_FAILED, "timestamping is overdue: every message is refused "
                                                  f"({ts.get('last_timestamp_error') or 'records wait too long'})")]
    if ts.get("timestamping_failing_since"):
        return [_problem(MLOG_TIMESTAMPER_FAILED, f"timestamping fails since {ts['timestamping_failing_since']} "
                                                  f"({ts.get('last_timestamp_error')}); messages pass until "
                                                  "the grace period ends", "warning")]
    if ts.get("error"):
        return [_problem("internal_error", f"the message log cannot be read: {ts['error']}")]
    return []


def database_status(engines: Mapping[str, Any]) -> dict[str, str | None]:
    """Per database the node uses: ``None`` when a trivial query answers, else why not (the health port asks)."""
    from sqlalchemy import text

    out: dict[str, str | None] = {}
    for name, engine in engines.items():
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            out[name] = None
        except Exception as exc:  # noqa: BLE001 - any failure is the answer; the driver's own words
            out[name] = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return out


def _cluster_problems(report: Mapping[str, Any]) -> list[dict[str, str]]:
    """A database the node cannot reach, and a drain: a balancer then sends the traffic elsewhere."""
    out = [_problem("database_unreachable", f"the {name} database cannot be reached: {error}")
           for name, error in (report.get("databases") or {}).items() if error]
    drain = report.get("drain") or {}
    if drain.get("draining"):
        out.append(_problem("draining", f"draining since {drain.get('since')}: the ports close at "
                                        f"{drain.get('stops_at')}, the exchanges in flight finish, the node stops"))
    return out


def health(report: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
    """``status`` ok / degraded / failing, ``code`` traffic gets now (``ok``), and every problem, worst first."""
    problems = _cluster_problems(report) + _configuration_problems(report)
    if (report.get("maintenance") or {}).get("enabled"):
        message = report["maintenance"].get("message")
        problems.append(_problem("maintenance_mode", "the authority put this gateway in maintenance mode"
                                 + (f" ({message})" if message else "") + ": other gateways do not route to it"))
    problems += _timestamping_problems(report.get("timestamping") or {})
    problems += _ocsp_problems(report.get("ocsp") or {}, at)
    errors = [p for p in problems if p["severity"] == "error"]
    ordered: Sequence[dict[str, str]] = errors + [p for p in problems if p["severity"] != "error"]
    status = "failing" if errors else ("degraded" if problems else "ok")
    return {"status": status, "code": errors[0]["code"] if errors else "ok", "problems": list(ordered)}


def health_lines(report: Mapping[str, Any]) -> list[str]:
    """The parts of this module as sentences (``sild gateway status``): the verdict, then its inputs."""
    verdict = report.get("health") or {}
    code = verdict.get("code")
    lines = [f"  health: {str(verdict.get('status', 'unknown')).upper()}"
             + (f": traffic gets {code}" if code not in (None, "ok") else "")]
    lines += [f"    {p['severity']} [{p['code']}]: {p['message']}" for p in verdict.get("problems", ())]
    maintenance = report.get("maintenance") or {}
    if maintenance.get("enabled"):
        lines.append(f"  maintenance mode: ON{': ' + maintenance['message'] if maintenance.get('message') else ''}")
    else:
        lines.append("  maintenance mode: off")
    for tsa in (report.get("timestamping") or {}).get("tsas", ()):
        # the first asked is in use; the others chosen are asked in turn when it fails
        order = tsa.get("order")
        used = "in use" if order == 1 or (order is None and tsa.get("in_use")) else \
            f"fallover #{order - 1}" if order else "not chosen"
        last = str(tsa["last_timestamp"]).replace("T", " ") if tsa.get("last_timestamp") else "none recently"
        lines.append(f"  TSA {tsa['name']} ({tsa['url']}, {used}): last timestamp {last}")
    mlog = report.get("message_log")
    if mlog:
        size = f", {mlog['bytes'] / 1048576:.1f} MiB" if isinstance(mlog.get("bytes"), int) else ""
        archive = mlog.get("last_archive")
        last = f"; last archive {archive['file']} at {str(archive['created_at']).replace('T', ' ')}" if archive else ""
        lines.append(f"  message log: {mlog['records']} records{size}, {mlog['unstamped']} unstamped, "
                     f"{mlog['archive_backlog']} waiting for the archive{last}")
    return lines
