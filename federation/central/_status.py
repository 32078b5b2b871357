"""What an authority says about itself: ``sild central status`` and ``GET /api/v1/diagnostics``.

One report for both, read from the registry and the published state file, so it is the
same whether a node runs or not and whichever process asks. An operator needs to know
what gateways will meet: whether the published configuration is still valid (after
``expiresAt`` every gateway of the instance refuses traffic with
``global_conf_outdated``), whether registry changes wait to be published (a node
that cannot generate only logs it), which keys sign and until when their certificates
are valid, what waits for an officer (submitted registration requests), and the
trusted anchors of federated instances with the end of their signing certificates
(after it the federation with that instance stops), and, on a registry several nodes
share, which node generates (the holder of the generation lease) and whether this
node serves the newest generation stored in the registry.

The verdict (``health``) is ``failing`` with the X-Road code the instance's gateways
get, ``degraded`` for what will fail if it goes on, or ``ok``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

from cryptography import x509

from federation.central.registry import CentralDir, list_requests

from ._publisher import read_state

KEY_WARNING = dt.timedelta(days=30)  # a signing or anchor certificate ending sooner must be replaced now
UNPUBLISHED_GRACE = dt.timedelta(minutes=5)  # a running node publishes a change within seconds


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def _moment(text: object) -> dt.datetime | None:
    if not isinstance(text, str):
        return None
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _not_after(der: bytes) -> dt.datetime | None:
    try:
        return x509.load_der_x509_certificate(der).not_valid_after_utc
    except ValueError:
        return None


def _anchor(instance: str, xml: bytes, sha224: str, added: dt.datetime) -> dict[str, Any]:
    from federation.anchor import parse_anchor
    from federation.errors import FederationError

    entry: dict[str, Any] = {"instance": instance, "sha224": sha224, "added_at": _iso(added)}
    try:
        anchor = parse_anchor(xml)
    except FederationError as exc:
        return {**entry, "error": str(exc), "certificates_expire_at": None}
    ends = [end for source in anchor.sources for der in source.verification_certs if (end := _not_after(der))]
    entry["generated_at"] = _iso(anchor.generated_at)
    entry["sources"] = [s.download_url for s in anchor.sources]
    entry["certificates_expire_at"] = _iso(max(ends)) if ends else None  # one valid signer is enough
    return entry


def central_status(home: CentralDir, at: dt.datetime) -> dict[str, Any]:
    """The authority's whole report (see the module doc); JSON-able."""
    registry = home.registry()
    info = registry.info()
    state = read_state(home.public_dir) or {}
    expires = _moment(state.get("expiresAt"))
    out: dict[str, Any] = {
        "instance": info.instance,
        "registry": {"serial": info.serial, "changed_at": _iso(info.changed_at)},
        "published": None if not state else {
            "serial": state.get("serial"), "generated_at": _iso(_moment(state.get("generatedAt"))),
            "expires_at": _iso(expires), "valid": expires is not None and expires > at,
            "folder": state.get("folder"), "internal_key": state.get("internalKey"),
            "external_key": state.get("externalKey")},
        "signing_keys": [{"key_id": key_id, "kind": kind, "status": status,
                          "certificate_expires_at": _iso(_not_after(der))}
                         for key_id, kind, status, der in registry.signing_keys()],
        "trusted_anchors": [_anchor(*row) for row in registry.trusted_anchors()],
    }
    out["generation"] = _generation(home, state)
    pending = list_requests(registry, "submitted")
    out["registration_requests"] = {
        "pending": len(pending),
        "oldest_received_at": _iso(min(r.received_at for r in pending)) if pending else None}
    out["health"] = central_health(out, at)
    return out


def _generation(home: CentralDir, state: Mapping[str, object]) -> dict[str, Any]:
    """Who generates (the lease holder: a host and process id, or None when no node runs) and whether this
    node's ``public/`` holds the newest generation stored in the registry."""
    from trust.infra import Lease

    from federation.central.registry import latest_state

    from ._generator import GENERATION_LEASE

    lease = Lease(home.registry().engine, GENERATION_LEASE)
    shared = lease.shared
    stored = latest_state(home.registry()) or {}
    return {"shared_registry": shared, "lease_holder": lease.holder() if shared else None,
            "newest_stored": stored.get("folder"), "newest_stored_at": _iso(_moment(stored.get("generatedAt"))),
            "serving_newest": not stored or stored.get("folder") == state.get("folder")}


def _problem(severity: str, code: str, message: str) -> dict[str, str]:
    return {"severity": severity, "code": code, "message": message}


def _publication_problems(report: Mapping[str, Any], at: dt.datetime) -> list[dict[str, str]]:
    published = report.get("published")
    if not published:
        return [_problem("error", "global_conf_outdated", "nothing is published: gateways have no configuration")]
    if not published["valid"]:
        return [_problem("error", "global_conf_outdated", f"the published configuration expired at "
                         f"{published['expires_at']}: every gateway of {report['instance']} refuses traffic")]
    generation = report.get("generation") or {}
    stored_at = _moment(generation.get("newest_stored_at"))
    if not generation.get("serving_newest", True) and stored_at and at - stored_at > UNPUBLISHED_GRACE:
        return [_problem("warning", "federation.central.node_behind", f"this node serves {published['folder']} while "
                         f"the registry holds the newer generation {generation['newest_stored']}: is it running?")]
    changed = _moment(report["registry"]["changed_at"])
    if published["serial"] != report["registry"]["serial"] and changed and at - changed > UNPUBLISHED_GRACE:
        return [_problem("warning", "federation.central.unpublished", f"registry changes since {_iso(changed)} are not "
                         f"published (serial {report['registry']['serial']}, published {published['serial']}): is "
                         "the node running? its log names a failing generation")]
    return []


def _certificate_problems(report: Mapping[str, Any], at: dt.datetime) -> list[dict[str, str]]:
    out = []
    for kind in ("internal", "external"):
        if not any(k["kind"] == kind and k["status"] == "active" for k in report["signing_keys"]):
            out.append(_problem("error", "federation.central.no_signing_key", f"no active {kind} signing key"))
    soon = _iso(at + KEY_WARNING) or ""
    for key in report["signing_keys"]:
        ends = key["certificate_expires_at"]
        if key["status"] == "active" and ends and ends <= soon:
            out.append(_problem("warning", "federation.central.key_expiring", f"the certificate of {key['kind']} "
                                f"signing key {key['key_id']} ends at {ends}: add and activate a new key"))
    for anchor in report["trusted_anchors"]:
        ends = anchor.get("certificates_expire_at")
        if ends is None or ends <= soon:
            out.append(_problem("warning", "federation.central.anchor_expiring", f"the trusted anchor of "
                                f"{anchor['instance']} has no signing certificate valid after {ends or 'now'}: "
                                "ask its operator for the new anchor"))
    return out


def central_health(report: Mapping[str, Any], at: dt.datetime) -> dict[str, Any]:
    """``status`` ok / degraded / failing, the ``code`` gateways get (``ok``), and the problems, worst first."""
    problems = _publication_problems(report, at) + _certificate_problems(report, at)
    errors = [p for p in problems if p["severity"] == "error"]
    ordered = errors + [p for p in problems if p["severity"] != "error"]
    status = "failing" if errors else ("degraded" if problems else "ok")
    return {"status": status, "code": errors[0]["code"] if errors else "ok", "problems": ordered}


def _when(text: object) -> str:
    return str(text).replace("T", " ") if text else "never"


def central_status_lines(report: Mapping[str, Any]) -> list[str]:
    """The report as an operator reads it (``sild central status`` without ``--json``)."""
    verdict = report["health"]
    registry, published = report["registry"], report.get("published")
    lines = [f"authority {report['instance']}",
             f"  health: {verdict['status'].upper()}"
             + (f": gateways get {verdict['code']}" if verdict["code"] != "ok" else "")]
    lines += [f"    {p['severity']} [{p['code']}]: {p['message']}" for p in verdict["problems"]]
    lines.append(f"  registry: serial {registry['serial']}, changed {_when(registry['changed_at'])}")
    if published:
        state = "valid until" if published["valid"] else "EXPIRED at"
        lines.append(f"  published: serial {published['serial']}, generated {_when(published['generated_at'])}, "
                     f"{state} {_when(published['expires_at'])} ({published['folder']})")
    else:
        lines.append("  published: nothing yet")
    generation = report.get("generation") or {}
    if generation.get("shared_registry"):
        lines.append(f"  generated by: {generation.get('lease_holder') or 'no node holds the lease now'}")
    for key in report["signing_keys"]:
        lines.append(f"  signing key {key['key_id']} ({key['kind']}, {key['status']}): certificate until "
                     f"{_when(key['certificate_expires_at'])}")
    pending = report["registration_requests"]
    lines.append(f"  registration requests waiting: {pending['pending']}"
                 + (f", oldest received {_when(pending['oldest_received_at'])}" if pending["pending"] else ""))
    for anchor in report["trusted_anchors"]:
        lines.append(f"  trusted anchor {anchor['instance']} (SHA-224 {anchor['sha224']}): signing certificates "
                     f"until {_when(anchor.get('certificates_expire_at'))}")
    return lines
