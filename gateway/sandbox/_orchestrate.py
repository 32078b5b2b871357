"""Bringing the sandbox up and down.

``up`` builds every directory with the libraries (CA, authority registry, gateway
set-up: fast, one process), then runs each server as its own process through the
``sild`` CLI, exactly as an operator would: ``sild trust serve``, ``sild central
serve``, ``sild gateway serve``, and one process for the sample backends and
adapters. It waits until every part answers: authorities publish configuration,
federation anchors are exchanged, every gateway has downloaded its own and its
partner's configuration and its OCSP responses. Then ``DIR/sandbox-setup.json``
(what to start again, :mod:`._record`) and ``DIR/sandbox.json`` are written. Any
failure stops what was started. ``up`` on a directory it built before starts the
recorded servers again (:mod:`._restart`); ``workers`` then stays as recorded in each
``gateway.json``.

Every gateway's admin API is on, on loopback, with a key of role ``admin`` kept in
its directory (``admin-api-key``): the sandbox is a place to work in. Every REST
service is registered with its OpenAPI description, so ``getOpenAPI`` answers it.
Each gateway's admin UI and each authority's UI (its management API on an HTTPS port
of its own) has the user ``sandbox-admin`` with a password made per sandbox
(:func:`._record.add_ui_users`).

The layout under ``DIR``::

    EE/trust EE/central EE/gw-<server>  FI/...  backends/  logs/  pids/
    sandbox-setup.json  sandbox.json
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import socket
import time
from pathlib import Path
from typing import Any, Callable

import httpx
from cryptography.hazmat.primitives import serialization

from trust.pki import EJBCA_PROFILE
from trust.pki import cert_der
from trust.protocol import ClientId, MemberId, SubsystemId, parse_server
from trust.infra import utc_now
from trust.keys import KeyType, SoftToken, write_atomic

from gateway.provision import add_member, import_certificate, init_gateway, make_csr, sign_subject
from gateway.sandbox import _ports as ports
from gateway.sandbox import _cluster as clustered
from gateway.sandbox import _processes as processes
from gateway.settings import NodeSettings
from ._hints import sild_hint
from ._record import STATE_FILE, SandboxError, add_ui_users, classify, record_setup
from ._restart import http_ok as _http_ok, ocsp_ready as _ocsp_ready, reachable as _reachable, wait as _wait
from ._restart import start_again
from ._topology import GATEWAYS, INSTANCES, MEMBER_NAMES, RIGHTS, SERVICES, SUBSYSTEM_NAMES, TRACKED

PIN = "sandbox-pin"  # the sandbox is for development machines only
ADMIN_KEY_FILE = "admin-api-key"  # a gateway's admin API key, kept beside its token.pin


def _free_port() -> int:
    """A port reserved for this sandbox's servers (:mod:`gateway.sandbox._ports`)."""
    return ports.reserve_port()


def up(root: Path | str, *, timeout: float = 90.0, owner_pid: int | None = None, workers: int = 1,
       cluster: int = 1) -> dict[str, Any]:
    """Start everything (see the module docstring); returns what ``sandbox.json`` holds.

    ``workers``: processes per gateway (``workers`` of ``gateway.json``); benchmarks use
    more than one so that a gateway is not bound to one core. ``cluster`` > 1: FI vero's
    gateway runs as that many nodes behind HAProxy on PostgreSQL (:mod:`._cluster`).

    With ``owner_pid`` a watchdog process takes the sandbox down when that process ends
    (tests pass their own pid, so a killed test run leaves nothing behind).
    """
    root = Path(root).resolve()
    if root.is_dir() and processes.running(root):
        raise SandboxError(f"a sandbox runs in {root}; stop it with `{sild_hint('sandbox', 'down', root)}` first, "
                           "or restart one node with `sandbox restart`")
    built = classify(root) == "built"
    if built and (root / "haproxy.cfg").is_file():
        raise SandboxError(f"a cluster sandbox is not started again; `{sild_hint('sandbox', 'down', root)}`, "
                           "remove the directory and run `up --cluster N` anew")
    if built:  # records of a run that ended without `down` (a reboot, a kill) are stale
        processes.stop_all(root)
        (root / STATE_FILE).unlink(missing_ok=True)
    root.mkdir(parents=True, exist_ok=True)
    if owner_pid is not None:
        processes.spawn(root, processes.WATCHDOG, processes.sild_command(
            "sandbox", "watchdog", str(root), "--pid", str(owner_pid)))
    try:
        if built:  # a sandbox stopped earlier: the same servers over the same data
            return start_again(root, timeout)
        state = add_ui_users(_up(root, timeout, workers, cluster))
        record_setup(root, state)
    except BaseException:
        processes.stop_all(root)
        clustered.remove_data(root)
        raise
    write_atomic(root / STATE_FILE, json.dumps(state, indent=2).encode() + b"\n")
    return state


def down(root: Path | str) -> list[str]:
    """Stop every process of the sandbox in ``root``; the directories stay for inspection."""
    root = Path(root).resolve()
    stopped = processes.stop_all(root)
    clustered.remove_data(root)  # a cluster's PostgreSQL data in a temporary directory
    (root / STATE_FILE).unlink(missing_ok=True)
    return stopped


def _up(root: Path, timeout: float, workers: int = 1, nodes: int = 1) -> dict[str, Any]:
    """The steps of :func:`up`, in order; each waits for what the next one needs."""
    now = utc_now()
    env = {"SILD_TOKEN_PIN": PIN}
    inst: dict[str, dict[str, Any]] = {i: {"trust_port": _free_port(), "central_port": _free_port(),
                                         "api_port": _free_port()} for i in INSTANCES}
    db = clustered.start_database(root, _free_port, _wait, timeout, ["serverconf"] + [
        f"messagelog_node{i}" for i in range(1, nodes + 1)]) if nodes > 1 else None
    cas = _start_trust_services(root, inst, now, env)
    gws = _make_gateways(root, cas, now, workers, inst)
    cluster = clustered.make_nodes(root, gws[clustered.CLUSTER_GATEWAY], nodes, db, _free_port, PIN) if db else None
    _start_authorities(root, inst, cas, gws, now, env)
    for i in INSTANCES:
        port, conf_url = int(inst[i]["trust_port"]), str(inst[i]["central_url"]) + "/externalconf?version=6"
        _wait(f"trust services of {i}", functools.partial(_reachable, port), timeout, root)
        _wait(f"authority of {i}", functools.partial(_http_ok, conf_url), timeout, root)
    anchors = _federate(root, now)
    urls = _start_backends(root, cas, now, env, timeout)
    for ca in cas.values():
        ca.close()
    _configure_services(gws, urls)
    if cluster is not None:
        clustered.start_others(root, cluster, env)
    _start_gateways(root, gws, env, timeout)
    if cluster is None:
        return _state(root, inst, anchors, gws, urls)
    clustered.wait_nodes(root, cluster, _wait, _http_ok, timeout)
    return dict(_state(root, inst, anchors, gws, urls), cluster=clustered.describe(root, cluster))


def _start_trust_services(
    root: Path, inst: dict[str, dict[str, Any]], now: dt.datetime, env: dict[str, str]
) -> dict[str, Any]:
    """One CA (with OCSP responder and TSA) per instance, served by ``sild trust serve``."""
    from trust.services import CertificateAuthority

    cas: dict[str, Any] = {}
    for i in INSTANCES:
        trust_url = f"http://127.0.0.1:{inst[i]['trust_port']}"
        inst[i]["trust_url"] = trust_url
        cas[i] = CertificateAuthority.init(root / i / "trust", instance=i, pin=PIN, now=now, key_type=KeyType.EC_P256,
                                           ocsp_url=trust_url + "/ocsp", tsa_url=trust_url + "/tsa")
        processes.spawn(root, f"trust-{i}", processes.sild_command(
            "trust", "serve", str(root / i / "trust"), "--port", str(inst[i]["trust_port"])), env=env)
    return cas


def _make_gateways(root: Path, cas: dict[str, Any], now: dt.datetime, workers: int,
                   inst: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Every gateway's directory: keys, CSRs, the certificates its instance's CA issues, and
    its authority's URL (where a client registered from the admin API or UI is sent)."""
    gws: dict[str, dict[str, Any]] = {}
    for text, clients in GATEWAYS.items():
        sid = parse_server(text)
        gdir = root / sid.instance / ("gw-" + sid.member_code + "-" + sid.server_code)
        port, is_port, admin_port = _free_port(), _free_port(), _free_port()
        others = [i for i in INSTANCES if i != sid.instance]
        init_gateway(gdir, anchor=None, server=text, pin=PIN, key_type=KeyType.EC_P256, settings={
            "is_port": is_port, "peer_port": port, "public_address": f"127.0.0.1:{port}", "admin_port": admin_port,
            "allowed_federations": tuple(others), "conf_interval_seconds": 5, "timestamp_interval_seconds": 5,
            "workers": workers, "registration": {"authority": f"http://127.0.0.1:{inst[sid.instance]['central_port']}"}})
        (gdir / "token.pin").write_text(PIN)
        ca = cas[sid.instance]
        issued = [ca.issue_auth(sid, now=now, csr=(gdir / "csr" / "auth.csr.pem").read_bytes()),
                  ca.issue_sign(sid.owner, now=now, csr=(gdir / "csr" / "sign.csr.pem").read_bytes())]
        for c in clients:
            if c.member != sid.owner:
                issued.append(ca.issue_sign(c.member, now=now, csr=add_member(gdir, c.member, pin=PIN).read_bytes()))
        for cert in issued:
            import_certificate(gdir, cert.cert.public_bytes(serialization.Encoding.PEM) + ca.chain_pem, pin=PIN)
        gws[text] = {"dir": gdir, "peer_port": port, "is_port": is_port, "admin_port": admin_port,
                     "auth": issued[0].cert, "clients": clients}
    return gws


def _start_authorities(
    root: Path,
    inst: dict[str, dict[str, Any]],
    cas: dict[str, Any],
    gws: dict[str, dict[str, Any]],
    now: dt.datetime,
    env: dict[str, str],
) -> None:
    """One governing authority per instance, its registry filled, served by ``sild central serve``."""
    from federation.central.registry import CentralDir, init_central

    for i in INSTANCES:
        url = f"http://127.0.0.1:{inst[i]['central_port']}"
        inst[i]["central_url"] = url
        cdir = root / i / "central"
        os.environ.setdefault("SILD_TOKEN_PIN", PIN)
        init_central(str(cdir), instance=i, url=url, pin=PIN, now=now,
                     member_classes=[("GOV", "Government"), ("COM", "Commercial")])
        home = CentralDir(cdir)
        try:
            _fill_registry(home.registry(), i, inst[i]["trust_url"], cas[i], gws)
        finally:
            home.close()
        processes.spawn(root, f"central-{i}", processes.sild_command(
            "central", "serve", str(cdir), "--port", str(inst[i]["central_port"]), "--check-interval", "1.0",
            "--api-port", str(inst[i]["api_port"])), env=env)  # HTTPS: the UI's session cookie is Secure


def _fill_registry(reg: Any, instance: str, trust_url: str, ca: Any, gws: dict[str, dict[str, Any]]) -> None:
    """An authority's registry: its CA and TSA, the members and subsystems, the gateways."""
    reg.set_setting("confExpireIntervalSeconds", 600)
    reg.add_ca(f"{instance} sandbox CA", cert_der(ca.root_cert),
               ocsp=[(trust_url + "/ocsp", cert_der(ca.ocsp_cert))],
               certificate_profile=EJBCA_PROFILE, authentication_only=False, intermediates=[])
    reg.add_tsa(f"{instance} sandbox TSA", trust_url + "/tsa", cert_der(ca.tsa_cert))
    members: dict[MemberId, list[SubsystemId]] = {}
    for text, info in gws.items():
        sid = parse_server(text)
        if sid.instance != instance:
            continue
        members.setdefault(sid.owner, [])
        for c in info["clients"]:
            members.setdefault(c.member, []).append(c)
    for member, subs in members.items():
        reg.add_member(member, MEMBER_NAMES.get(member.to_text(), member.member_code))
        for sub in subs:
            reg.add_subsystem(sub, SUBSYSTEM_NAMES.get(sub.subsystem_code, sub.subsystem_code))
    for text, info in gws.items():
        sid = parse_server(text)
        if sid.instance == instance:
            reg.add_gateway(sid, address=f"127.0.0.1:{info['peer_port']}", auth_certs=[cert_der(info["auth"])],
                            clients=list(info["clients"]))


def _federate(root: Path, now: dt.datetime) -> dict[str, dict[str, Any]]:
    """Each authority's anchors written out, and each trusting the other's external anchor."""
    from federation.anchor import anchor_fingerprint
    from federation.central.registry import CentralDir, add_trusted_anchor, build_anchor

    anchors: dict[str, dict[str, Any]] = {}
    for i in INSTANCES:
        home = CentralDir(root / i / "central")
        try:
            internal = build_anchor(home, internal=True, now=now)
            external = build_anchor(home, internal=False, now=now)
        finally:
            home.close()
        write_atomic(root / i / "anchor-internal.xml", internal)
        write_atomic(root / i / "anchor-external.xml", external)
        anchors[i] = {"internal": str(root / i / "anchor-internal.xml"),
                      "internal_sha224": anchor_fingerprint(internal),
                      "external": str(root / i / "anchor-external.xml"),
                      "external_sha224": anchor_fingerprint(external)}
    for i in INSTANCES:
        home = CentralDir(root / i / "central")
        try:
            for other in INSTANCES:
                if other != i:
                    add_trusted_anchor(home, (root / other / "anchor-external.xml").read_bytes(), now=utc_now())
        finally:
            home.close()
    return anchors


def _start_backends(root: Path, cas: dict[str, Any], now: dt.datetime, env: dict[str, str], timeout: float) -> dict[str, str]:
    """The sample backends and adapters (one process, with a signing key for the population
    register); returns the URLs they listen on."""
    bdir = root / "backends"
    token = SoftToken(bdir / "token", PIN)
    token.generate("population-sign", KeyType.EC_P256)
    pop_member = next(c for c in GATEWAYS["EE/GOV/70000002/gw1"]).member
    cert = cas["EE"].issue_sign(pop_member, now=now, csr=make_csr(token, "population-sign", sign_subject(pop_member)))
    write_atomic(bdir / "population-sign.pem", cert.cert.public_bytes(serialization.Encoding.PEM) + cas["EE"].chain_pem)
    # fixed ports: the gateways register these URLs, and a restarted sandbox must find them again
    fixed = [arg for name in ("population", "vero", "dvv") for arg in ("--port", f"{name}={_free_port()}")]
    processes.spawn(root, "backends", processes.sild_command("sandbox", "backends", str(bdir), *fixed), env=env)
    _wait("sample backends", lambda: (bdir / "backends.json").is_file(), timeout, root)
    urls: dict[str, str] = json.loads((bdir / "backends.json").read_text())
    return urls


def _start_gateways(root: Path, gws: dict[str, dict[str, Any]], env: dict[str, str], timeout: float) -> None:
    """Every gateway served by ``sild gateway serve``; healthy once it has its OCSP responses
    and the configuration of every instance."""
    for text, info in gws.items():
        gdir = info["dir"]
        write_atomic(gdir / "anchor.xml", (root / parse_server(text).instance / "anchor-internal.xml").read_bytes())
        processes.spawn(root, "gw-" + text.replace("/", "_"), processes.sild_command("gateway", "serve", str(gdir)),
                        env=env)
    for text, info in gws.items():
        base = f"http://127.0.0.1:{info['is_port']}"
        _wait(f"gateway {text} (OCSP responses of its certificates)",
              functools.partial(_ocsp_ready, info["dir"]), timeout, root)
        for i in INSTANCES:
            _wait(f"gateway {text} (configuration of {i})",
                  functools.partial(_http_ok, f"{base}/listClients?xRoadInstance={i}"), timeout, root)


def _configure_services(gws: dict[str, dict[str, Any]], urls: dict[str, str]) -> None:
    """Every gateway's identity, clients and admin API key; the providers' services and rights."""
    from adapters.sandbox_backends import service_description
    from gateway.serverconf import ServerConf
    from gateway.db import open_engine
    from gateway.serverconf import Operation
    from trust.protocol import parse_wsdl

    confs: dict[ClientId, Any] = {}
    engines = []
    for text, info in gws.items():
        engine = open_engine(NodeSettings.load(info["dir"]).serverconf_database(info["dir"]))
        engines.append(engine)
        conf = ServerConf(engine)
        conf.set_identity(parse_server(text))
        _admin_key(conf, info["dir"])
        for client in info["clients"]:
            conf.add_client(client, state="REGISTERED")
            confs[client] = conf
    for provider, code, _version, kind, backend, path in SERVICES:
        conf = confs[provider]
        base = urls[backend]
        if kind == "WSDL":
            if any(d.kind == "WSDL" for d in conf.list_descriptions(provider)):
                continue
            document = httpx.get(base + "/wsdl", timeout=10, trust_env=False).content
            ops = [Operation(op.name, op.version, base + path, op.title) for op in parse_wsdl(document).operations]
            conf.add_wsdl(provider, base + "/wsdl", document=document, operations=ops, enabled=True)
        else:  # each REST service with its OpenAPI description, so that getOpenAPI answers it
            service_url = base + path
            described = httpx.get(base + "/openapi.json", timeout=10, trust_env=False).content
            conf.add_openapi(provider, base + "/openapi.json", code, backend_url=service_url, enabled=True,
                             document=service_description(described, service_url))
    for client, provider, code in RIGHTS:
        confs[provider].grant(provider, code, client)
    from gateway.tracker import make_rule, save_rule  # the data owner declares its services' subjects

    for provider, code, source, expression, namespaces in TRACKED:
        save_rule(confs[provider], make_rule(provider, code, source, expression, namespaces))
    for engine in engines:
        engine.dispose()


def _admin_key(conf: Any, gdir: Path) -> None:
    """An admin API key (role ``admin``) for the gateway, kept in ``DIR/admin-api-key``
    (mode 0600): the sandbox is a place to work in, and its admin API is on loopback.
    A real gateway never stores the secret (``sild gateway apikey create`` prints it once)."""
    from gateway.serverconf import create_api_key

    _key_id, secret = create_api_key(conf, ["admin"], "sandbox")
    path = gdir / ADMIN_KEY_FILE
    path.touch(mode=0o600)
    path.write_text(secret + "\n")


def _state(root: Path, inst: dict[str, dict[str, Any]], anchors: dict[str, dict[str, Any]],
           gws: dict[str, dict[str, Any]], urls: dict[str, str]) -> dict[str, Any]:
    gateways = []
    client_gateway: dict[str, str] = {}
    for text, info in gws.items():
        is_url = f"http://127.0.0.1:{info['is_port']}"
        gateways.append({"id": text, "instance": parse_server(text).instance, "is_url": is_url,
                         "peer_address": f"127.0.0.1:{info['peer_port']}", "directory": str(info["dir"]),
                         "admin_url": f"https://127.0.0.1:{info['admin_port']}",
                         "admin_cert_file": str(info["dir"] / "admin-tls" / "admin.crt"),  # the self-signed one
                         "admin_key_file": str(info["dir"] / ADMIN_KEY_FILE),
                         "clients": [c.to_text() for c in info["clients"]],
                         "process": "gw-" + text.replace("/", "_")})
        for c in info["clients"]:
            client_gateway[c.to_text()] = is_url
    services = []
    for provider, code, version, kind, _backend, _path in SERVICES:
        sid = provider.to_text() + "/" + code
        entry: dict[str, Any] = {"id": sid + (f"/{version}" if version else ""), "type": "SOAP" if kind == "WSDL" else "REST",
                                 "provider": provider.to_text(), "service_code": code, "version": version,
                                 "provider_gateway": client_gateway[provider.to_text()]}
        if kind == "WSDL":
            assert isinstance(provider, SubsystemId)
            entry["wsdl_query"] = (f"/wsdl?xRoadInstance={provider.instance}&memberClass={provider.member_class}"
                                   f"&memberCode={provider.member_code}&subsystemCode={provider.subsystem_code}"
                                   f"&serviceCode={code}&version={version}")
            # any gateway of the federation serves it; this is the provider's own
            entry["wsdl_url"] = client_gateway[provider.to_text()] + entry["wsdl_query"]
        else:
            entry["rest_path"] = f"/r1/{sid}"
        services.append(entry)
    return {
        "directory": str(root),
        "created_at": utc_now().isoformat(),
        "instances": {i: {"trust_url": inst[i]["trust_url"], "central_url": inst[i]["central_url"],
                          "central_dir": str(root / i / "central"),
                          "api_url": f"https://127.0.0.1:{inst[i]['api_port']}", "anchors": anchors[i],
                          "process": {"trust": f"trust-{i}", "central": f"central-{i}"}} for i in INSTANCES},
        "gateways": gateways,
        "services": services,
        "rights": [{"client": c.to_text(), "service": p.to_text() + "/" + code} for c, p, code in RIGHTS],
        "backends": urls,
        "pin": PIN,
    }
