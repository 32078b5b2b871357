"""What a gateway says about itself: ``sild gateway status`` and the admin API's ``/api/v1/status``.

Everything is read from what the node stores in its directory (the configuration
client's tree and ``conf/status.json``, the own OCSP responses and
``ocsp/status.json``, the message log's timestamping state, the registration
request in ``gateway.json``), so the same report comes out whether the node runs or
not and whichever of its processes asks. A running node passes what it holds in
memory instead where that is the truth (an injected configuration source, the OCSP
store's last run).

The report is JSON-able data (``--json``, the admin API); :func:`status_lines` turns
it into the sentences an operator reads (times in UTC, no Python values).

OCSP, per own certificate: the status of the stored response (good, revoked,
unknown), its ``thisUpdate``, until when peers accept it (``thisUpdate`` +
``ocspFreshnessSeconds`` of the own instance's global configuration, X-Road's
freshness) and when this gateway fetches the next one (last refresh +
``ocsp_interval_seconds`` of ``gateway.json``). Together they bound how long a
revocation takes to bite (docs/trust.md).
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any, Mapping

from cryptography import x509
from cryptography.x509 import ocsp

from federation.client import read_status
from federation.model import SharedParameters
from gateway.provision import auth_key, open_registry, sign_keys, signing_keys
from ._drain import drain_status
from ._health import (database_status, health, health_lines, maintenance_status, messagelog_figures,
                      tsa_status)
from gateway.settings import NodeSettings, SetupError, token_pin
from trust.pki import load_certificates

OCSP_STATUS_FILE = "status.json"


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _parse(text: object) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def configuration_status(directory: Path, settings: NodeSettings, at: dt.datetime,
                         confs: Mapping[str, Any] | None = None) -> tuple[dict[str, Any], Any]:
    """Per instance: validity, expiry, the last download attempt and its error; and the own shared parameters.

    ``confs`` (instance -> object with ``shared`` and ``expires_at``) replaces the
    stored tree when a node was given its configuration from elsewhere.
    """
    from federation.conftree import load_tree
    from federation.errors import FederationError

    conf_dir = directory / "conf"
    out: dict[str, Any] = {}
    if confs is None:
        try:
            # the client writes instance-identifier with the first own configuration it stores
            confs = load_tree(conf_dir).instances if (conf_dir / "instance-identifier").is_file() else {}
        except FederationError as exc:
            out["stored copy"] = {"valid": False, "expires_at": None,
                                  "error": {"code": exc.code, "message": str(exc), "kept_previous": False}}
            confs = {}
    for inst, conf in confs.items():
        expires = conf.expires_at
        out[inst] = {"valid": expires is None or expires > at, "expires_at": _iso(expires)}
    for inst, attempt in read_status(conf_dir).items():
        if not isinstance(attempt, dict):
            continue
        entry = out.setdefault(inst, {"valid": False, "expires_at": None})
        entry["last_attempt"] = _iso(_parse(attempt.get("lastAttempt")))
        entry["last_success"] = _iso(_parse(attempt.get("lastSuccess")))
        error = attempt.get("error")
        if isinstance(error, dict):
            entry["error"] = {"code": error.get("code"), "message": error.get("message"),
                              "kept_previous": bool(error.get("keptPrevious"))}
    own = confs.get(settings.instance)
    return out, (own.shared if own is not None else None)


def own_certificates(directory: Path) -> dict[str, x509.Certificate]:
    """The gateway's own certificates by key id, as the node uses them: its auth and each member's sign certificate.

    A member's sign certificate is the one the node signs with: the newest active one of
    the key registry after a renewal (:func:`gateway.provision.signing_keys`), else the
    one ``import-cert`` stored in ``DIR/certs/``; the auth certificate likewise is the one
    the node serves in TLS (:func:`gateway.provision.auth_key`). Reading the registry needs no key, only
    the token's PIN to open it; where the PIN or a PKCS#11 token's PIN is not at hand,
    the files of ``DIR/certs/`` are what this process can see, and they are shown.
    """
    names = ["auth", *sign_keys(directory)]
    out = {}
    for name in names:
        path = directory / "certs" / f"{name}.pem"
        if path.is_file():
            out[name] = load_certificates(path.read_bytes())[0]
    try:
        registry = open_registry(directory, token_pin(directory))
        chosen = signing_keys(directory, registry)
    except SetupError:
        return out
    try:
        auth_id, auth_chain = auth_key(directory, registry)
        out.pop("auth", None)  # the auth certificate is the one the node serves in TLS, as for sign keys
        out[auth_id] = auth_chain[0]
    except SetupError:
        pass  # every auth key disabled: the node would not start; the file is what there is to show
    for member_key in sign_keys(directory):  # the files stand in only for members the registry has no key of
        if member_key not in {key_id for key_id, _chain in chosen.values()}:
            out.pop(member_key, None)
    out.update({key_id: chain[0] for key_id, chain in chosen.values()})
    return out


def _describe_response(path: Path, freshness: int) -> dict[str, Any]:
    """The stored response as the gateway sends it (checked when fetched; read here for display only)."""
    try:
        response = ocsp.load_der_ocsp_response(path.read_bytes())
    except FileNotFoundError:
        return {"status": "none"}
    except (OSError, ValueError) as exc:
        return {"status": "unreadable", "error": str(exc)}
    if response.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return {"status": response.response_status.name.lower()}
    this_update = response.this_update_utc
    return {
        "status": response.certificate_status.name.lower(),
        "this_update": _iso(this_update),
        "next_update": _iso(response.next_update_utc),
        "accepted_until": _iso(this_update + dt.timedelta(seconds=freshness)),
    }


def own_ocsp_status(directory: Path, settings: NodeSettings, at: dt.datetime, freshness: int,
                    health: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The own certificates' OCSP responses, the last refresh and the next one (see the module doc)."""
    if health is None:
        try:
            health = json.loads((directory / "ocsp" / OCSP_STATUS_FILE).read_text("utf-8"))
        except (OSError, ValueError):
            health = {}
    last = _parse(health.get("last_refresh"))
    interval = settings.ocsp_interval_seconds
    certificates = {}
    for name, cert in own_certificates(directory).items():
        entry = {"serial": format(cert.serial_number, "x"), **_describe_response(directory / "ocsp" / f"{name}.ocsp", freshness)}
        # the job checks every min(30 s, interval) and fetches when a response is missing, the last run failed
        # or the interval has passed (gateway.signing.OwnOcspStore.due)
        due = last is None or bool(health.get("last_error")) or entry["status"] == "none"
        entry["next_refresh"] = _iso(at if due or last is None else max(at, last + dt.timedelta(seconds=interval)))
        certificates[name] = entry
    return {
        "last_refresh": _iso(last),
        "last_error": health.get("last_error"),
        "have": sorted(n for n, c in certificates.items() if c["status"] != "none"),
        "refresh_interval_seconds": interval,
        "freshness_seconds": freshness,
        "certificates": certificates,
    }


def gateway_status(directory: Path, at: dt.datetime, *, confs: Mapping[str, Any] | None = None,
                   ocsp_health: Mapping[str, Any] | None = None, messagelog: Any = None,
                   engines: Mapping[str, Any] | None = None, for_traffic: bool = False) -> dict[str, Any]:
    """The whole report (configuration, OCSP, timestamping, registration, sign keys).

    ``engines`` (name -> database) are queried, and one that does not answer fails the
    verdict. ``for_traffic`` leaves out what the verdict does not read and a large log
    makes slow (its figures, each TSA's last timestamp): the health port asks every
    few seconds.
    """
    directory = Path(directory)
    settings = NodeSettings.load(directory)
    out: dict[str, Any] = {"server": settings.server, "instance": settings.instance}
    out["drain"] = drain_status(directory)
    if engines is not None:
        out["databases"] = database_status(engines)
    out["configuration"], own = configuration_status(directory, settings, at, confs)
    # no own configuration yet: X-Road's default (the dataclass field's default value)
    freshness = own.ocsp_freshness_seconds if own is not None else SharedParameters.ocsp_freshness_seconds
    out["ocsp"] = own_ocsp_status(directory, settings, at, freshness, ocsp_health)
    out["maintenance"] = maintenance_status(own, settings)
    try:
        if messagelog is None:
            from gateway.db import open_engine
            from gateway.messagelog import MessageLog

            messagelog = MessageLog(open_engine(settings.messagelog_database(directory)))
        out["timestamping"] = _timestamping(messagelog, own, at, tsas=not for_traffic,
                                            chosen=settings.timestamping_services)
        if not for_traffic:
            out["message_log"] = messagelog_figures(messagelog)
    except Exception as exc:  # noqa: BLE001 - status must report, not fail
        out["timestamping"] = {"error": str(exc)}
    registered = own is not None and any(s.server_id == settings.server_id for s in own.security_servers)
    reg = settings.registration
    out["registration"] = "registered" if registered else (
        f"requested at {reg.get('submitted_at')}" if reg.get("submitted_at") else "not registered")
    out["sign_keys"] = {k: v.to_text() for k, v in sign_keys(directory).items()}
    out["health"] = health(out, at)
    return out


def _timestamping(messagelog: Any, own: Any, at: dt.datetime, *, tsas: bool = True,
                  chosen: tuple[str, ...] = ()) -> dict[str, Any]:
    """The message log's timestamping state, the age of its oldest unstamped record and each TSA's last stamp."""
    state = dict(messagelog.status(at))
    oldest = _parse(state.get("oldest_unstamped_record"))
    state["oldest_unstamped_age_seconds"] = max(0, int((at - oldest).total_seconds())) if oldest else None
    state["tsas"] = tsa_status(messagelog, own, chosen) if tsas else []
    return state


def _when(text: object) -> str:
    return str(text).replace("T", " ") if text else "never"


def _configuration_lines(confs: Mapping[str, Any]) -> list[str]:
    lines = []
    for inst, conf in confs.items():
        if conf.get("expires_at"):
            state = "valid until" if conf.get("valid") else "EXPIRED at"
            line = f"  configuration {inst}: {state} {_when(conf['expires_at'])}"
        else:
            line = f"  configuration {inst}: none stored"
        if conf.get("last_success"):
            line += f", downloaded {_when(conf['last_success'])}"
        lines.append(line)
        error = conf.get("error")
        if error:
            kept = "; the stored copy stays in use" if error.get("kept_previous") else ""
            lines.append(f"    last download {_when(conf.get('last_attempt'))} FAILED [{error.get('code')}]: "
                         f"{error.get('message')}{kept}")
    return lines or ["  configuration: none downloaded yet"]


def _ocsp_lines(data: Mapping[str, Any]) -> list[str]:
    lines = [f"  OCSP: last refresh {_when(data.get('last_refresh'))}, every {data.get('refresh_interval_seconds')} s; "
             f"peers accept a response for {data.get('freshness_seconds')} s after its thisUpdate"]
    if data.get("last_error"):
        lines.append(f"    last refresh FAILED: {data['last_error']}")
    interval, freshness = data.get("refresh_interval_seconds"), data.get("freshness_seconds")
    if isinstance(interval, int) and isinstance(freshness, int) and 2 * interval > freshness:
        lines.append(f"    WARNING: ocsp_interval_seconds {interval} leaves less than two refreshes within "
                     f"ocspFreshnessSeconds {freshness}: one failed fetch and peers refuse this gateway")
    for name, cert in (data.get("certificates") or {}).items():
        if cert.get("this_update"):
            what = (f"{cert['status']}, thisUpdate {_when(cert['this_update'])}, "
                    f"accepted until {_when(cert.get('accepted_until'))}")
        else:
            what = "no response yet" if cert.get("status") == "none" else str(cert.get("status"))
        lines.append(f"    {name} (serial {cert.get('serial')}): {what}; next refresh {_when(cert.get('next_refresh'))}")
    return lines


def _timestamping_line(ts: Mapping[str, Any]) -> str:
    if ts.get("error"):
        return f"  timestamping: unknown ({ts['error']})"
    line = f"  timestamping: last success {_when(ts.get('last_timestamp_success'))}"
    if ts.get("oldest_unstamped_record"):
        line += f", oldest record waiting since {_when(ts['oldest_unstamped_record'])}"
    else:
        line += ", nothing waiting"
    if ts.get("timestamping_failing_since"):
        line += f"; failing since {_when(ts['timestamping_failing_since'])}: {ts.get('last_timestamp_error')}"
    if ts.get("timestamping_overdue"):
        line += "; OVERDUE: messages are refused"
    return line


def status_lines(data: Mapping[str, Any]) -> list[str]:
    """The report as an operator reads it (``sild gateway status`` without ``--json``)."""
    lines = [f"gateway {data['server']} ({data['instance']})", f"  registration: {data['registration']}"]
    lines += _configuration_lines(data.get("configuration") or {})
    lines += _ocsp_lines(data.get("ocsp") or {})
    lines.append(_timestamping_line(data.get("timestamping") or {}))
    return lines + health_lines(data)


def refresh_own_ocsp(directory: Path, at: dt.datetime) -> dict[str, Any]:
    """Fetch fresh OCSP responses for every own certificate now (``sild gateway ocsp refresh``).

    Works beside a running node: the responses and ``ocsp/status.json`` are replaced
    atomically, the node's worker processes read them within seconds and its main
    process at its next OCSP check (at most 30 s). Uses the stored configuration
    (approved CAs and their responders) without downloading it.
    """
    from gateway.conf import ConfStore
    from gateway.signing import OwnOcspStore

    from ._node import PolicyCache

    directory = Path(directory)
    settings = NodeSettings.load(directory)
    store = ConfStore(directory, settings, clock=lambda: at)
    if settings.instance not in store.current():
        raise SetupError(f"no global configuration of {settings.instance} stored in {directory / 'conf'} yet: "
                         f"it names the CAs and their OCSP responders; start the node first (.venv/bin/sild gateway serve {directory})")
    own = OwnOcspStore(directory / "ocsp", own_certificates(directory), PolicyCache(store.current), settings.instance)
    try:
        own.refresh(at)
    finally:
        own.close()
    return gateway_status(directory, at)["ocsp"]  # type: ignore[no-any-return]
