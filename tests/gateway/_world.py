"""An in-process federated world for gateway tests: EE and FI, real PKI, real mTLS.

Each instance gets a CA (``trust.services._ca``) whose OCSP responder and TSA are served over
HTTP; each gateway gets a directory made by ``gateway.provision`` (keys in a soft token,
CSRs signed through the Signer, certificates issued by its instance's CA and
imported); the global configuration is built as ``SharedParameters`` values and
injected (the configuration client has its own tests); the sandbox's adapters and
legacy backends (``adapters.sandbox_backends``) are the services.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from federation.model import (
    ApprovedCaInfo, ApprovedTsaInfo, CaInfo, GlobalGroup, Member, MemberClass, OcspInfo, SecurityServer,
    SharedParameters, Subsystem,
)
from gateway.node import GatewayNode
from gateway.conf import InstanceConf
from gateway.net import WsgiServer
from gateway.provision import add_member, import_certificate, init_gateway
from gateway.sandbox._topology import BANK, DVV, GATEWAYS, POPULATION, TAX, VERO
from trust.pki import EJBCA_PROFILE
from trust.services import CertificateAuthority
from trust.services._bundle import ocsp_responder, timestamp_authority
from trust.pki import cert_der
from trust.protocol import MemberId, SubsystemId, parse_server
from trust.keys import KeyType, SoftToken
from trust.services import TrustHttpApp

PIN = "sandbox-pin"

NAMES = {
    "70000001": "Tax and Customs Board", "70000002": "Population Register", "10000003": "Sandbox Bank",
    "0245437-2": "Verohallinto", "0242431-1": "Digi- ja vaestotietovirasto",
}


def free_port() -> int:
    """A loopback port reserved for this process: binding to port 0 and closing lets another
    process (a concurrent test, an outgoing connection) take the port before the server binds it."""
    from gateway.sandbox._ports import reserve_port

    return reserve_port()


@dataclass
class World:
    base: Path
    now: dt.datetime
    cas: dict[str, CertificateAuthority] = field(default_factory=dict)
    trust_servers: dict[str, WsgiServer] = field(default_factory=dict)
    gateways: dict[str, GatewayNode] = field(default_factory=dict)
    shared: dict[str, SharedParameters] = field(default_factory=dict)
    expires: dict[str, dt.datetime] = field(default_factory=dict)
    backends: object = None
    ports: dict[str, int] = field(default_factory=dict)

    def conf(self) -> dict[str, InstanceConf]:
        return {i: InstanceConf(s, self.expires[i]) for i, s in self.shared.items()}

    def gateway_of(self, client: object) -> GatewayNode:
        for text, clients in GATEWAYS.items():
            if client in clients:
                return self.gateways[text]
        raise KeyError(client)

    def close(self) -> None:
        for node in self.gateways.values():
            node.stop()
        if self.backends is not None:
            self.backends.close()  # type: ignore[attr-defined]
        for server in self.trust_servers.values():
            server.stop()
        for ca in self.cas.values():
            ca.close()


def build_world(base: Path, now: dt.datetime, *, start: bool = True) -> World:
    world = World(base, now)
    try:
        _build(world, start)
    except BaseException:
        world.close()
        raise
    return world


def _build(world: World, start: bool) -> None:
    base, now = world.base, world.now
    for inst in ("EE", "FI"):
        ca = CertificateAuthority.init(base / f"ca-{inst}", instance=inst, pin=PIN, now=now, key_type=KeyType.EC_P256)
        world.cas[inst] = ca
        app = TrustHttpApp(ocsp=ocsp_responder(ca), tsa=timestamp_authority(ca))
        world.trust_servers[inst] = WsgiServer(app, name=f"trust-{inst}").start()
    dirs = {}
    for text, _clients in GATEWAYS.items():
        sid = parse_server(text)
        gdir = base / ("gw-" + text.replace("/", "_"))
        port = free_port()
        world.ports[text] = port
        init_gateway(gdir, anchor=None, server=text, pin=PIN, key_type=KeyType.EC_P256,
                     settings={"is_port": 0, "peer_port": port,
                               "is_tls_port": free_port() if text == "EE/GOV/70000001/gw1" else 0,
                               "admin_port": free_port() if text == "EE/GOV/70000001/gw1" else 0})
        (gdir / "token.pin").write_text(PIN)
        ca = world.cas[sid.instance]
        auth = ca.issue_auth(sid, now=now, csr=(gdir / "csr" / "auth.csr.pem").read_bytes())
        sign = ca.issue_sign(sid.owner, now=now, csr=(gdir / "csr" / "sign.csr.pem").read_bytes())
        issued_all = [auth, sign]
        for extra in _clients:
            if extra.member != sid.owner:
                csr = add_member(gdir, extra.member, pin=PIN).read_bytes()
                issued_all.append(ca.issue_sign(extra.member, now=now, csr=csr))
        for issued in issued_all:
            import_certificate(gdir, issued.cert.public_bytes(serialization.Encoding.PEM), pin=PIN)
        dirs[text] = (gdir, auth.cert)
    for inst in ("EE", "FI"):
        ca = world.cas[inst]
        url = world.trust_servers[inst].url
        members: dict[MemberId, list[SubsystemId]] = {}
        servers = []
        for text, clients in GATEWAYS.items():
            sid = parse_server(text)
            if sid.instance != inst:
                continue
            for c in clients:
                members.setdefault(c.member, []).append(c)
            members.setdefault(sid.owner, [])
            servers.append(SecurityServer(sid.owner, sid.server_code, f"127.0.0.1:{world.ports[text]}",
                                          auth_cert_hashes=(hashlib.sha256(cert_der(dirs[text][1])).digest(),),
                                          clients=tuple(clients)))
        world.shared[inst] = SharedParameters(
            instance=inst,
            approved_cas=(ApprovedCaInfo(f"{inst} CA", CaInfo(cert_der(ca.root_cert), (OcspInfo(url + "/ocsp",
                                         cert_der(ca.ocsp_cert)),)), certificate_profile_info=EJBCA_PROFILE),),
            approved_tsas=(ApprovedTsaInfo(f"{inst} TSA", url + "/tsa", cert_der(ca.tsa_cert)),),
            members=tuple(
                Member(MemberClass(m.member_class), m.member_code, NAMES.get(m.member_code, m.member_code),
                       subsystems=tuple(Subsystem(s.subsystem_code, s.subsystem_code.title()) for s in subs))
                for m, subs in members.items()),
            security_servers=tuple(servers),
            global_groups=(GlobalGroup("security-server-owners", "Owners",
                                       tuple(parse_server(t).owner for t in GATEWAYS if t.startswith(inst))),),
            member_classes=(MemberClass("GOV"), MemberClass("COM")),
        )
        world.expires[inst] = now + dt.timedelta(days=1)
    for text, (gdir, _cert) in dirs.items():
        world.gateways[text] = GatewayNode(gdir, conf_source=world.conf)
    _services(world)
    if start:
        for node in world.gateways.values():
            node.start(jobs=False)
        for node in world.gateways.values():  # a loaded machine may time out the first OCSP fetch
            for _ in range(3):
                if not node.own_ocsp.due(world.now, 3600):
                    break
                node.refresh_ocsp()


def _services(world: World) -> None:
    from adapters.sandbox_backends import start_all

    ee_ca = world.cas["EE"]
    token = SoftToken(world.base / "population-token", PIN)
    token.generate("sign", KeyType.EC_P256)
    from gateway.provision import make_csr, sign_subject

    issued = ee_ca.issue_sign(POPULATION.member, now=world.now,
                              csr=make_csr(token, "sign", sign_subject(POPULATION.member)))
    world.backends = start_all(world.base / "backends", token, "sign", [issued.cert, ee_ca.root_cert])
    urls = world.backends.urls  # type: ignore[attr-defined]
    ee_pop = world.gateways["EE/GOV/70000002/gw1"].serverconf
    ee_tax = world.gateways["EE/GOV/70000001/gw1"].serverconf
    fi_vero = world.gateways["FI/GOV/0245437-2/gw1"].serverconf
    fi_dvv = world.gateways["FI/GOV/0242431-1/gw1"].serverconf
    for conf, clients in ((ee_tax, (TAX,)), (ee_pop, (POPULATION, BANK)), (fi_vero, (VERO,)), (fi_dvv, (DVV,))):
        for c in clients:
            conf.add_client(c, state="REGISTERED")
    add_wsdl(ee_pop, POPULATION, urls["population"])
    ee_pop.add_rest(POPULATION, urls["population"] + "/rest/persons", "persons", enabled=True)
    add_wsdl(fi_vero, VERO, urls["vero"])
    fi_vero.add_rest(VERO, urls["vero"] + "/rest/income", "income", enabled=True)
    fi_dvv.add_rest(DVV, urls["dvv"] + "/residents", "residents", enabled=True)
    for code in ("getTaxRecord", "income"):
        fi_vero.grant(VERO, code, TAX)
    fi_dvv.grant(DVV, "residents", TAX)
    for code in ("getPerson", "persons"):
        ee_pop.grant(POPULATION, code, VERO)
        ee_pop.grant(POPULATION, code, BANK)


def add_wsdl(conf: object, provider: object, base_url: str) -> None:
    """Register an adapter's WSDL; operations read with ``trust.protocol._wsdl`` (soap at ``/soap``)."""
    import httpx

    from gateway.serverconf import Operation
    from trust.protocol import parse_wsdl

    document = httpx.get(base_url + "/wsdl", timeout=10).content
    desc = parse_wsdl(document)
    ops = [Operation(op.name, op.version, base_url + "/soap", op.title) for op in desc.operations]
    conf.add_wsdl(provider, base_url + "/wsdl", document=document, operations=ops, enabled=True)  # type: ignore[attr-defined]
