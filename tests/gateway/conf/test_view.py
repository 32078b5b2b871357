"""Routing: the verified configuration's answers, and choosing the provider's gateway."""

from __future__ import annotations

import datetime as dt
import socket

import pytest

from federation.model import (
    GlobalGroup, MaintenanceMode, Member, MemberClass, SecurityServer, SharedParameters, Subsystem,
)
from gateway.conf import ServerEntry
from trust.protocol import XRoadFault
from gateway.conf import InstanceConf, Router, SharedParamsView, split_address
from trust.protocol import GlobalGroupId, MemberId, SubsystemId, parse_server

EE_TAX = SubsystemId("EE", "GOV", "70000001", "tax")
EE_TAX_OWNER = MemberId("EE", "GOV", "70000001")
FI_VERO = SubsystemId("FI", "GOV", "0245437-2", "vero")


def _shared(instance, members, servers, groups=()):
    return SharedParameters(instance=instance, members=members, security_servers=servers, global_groups=groups,
                            member_classes=(MemberClass("GOV"),))


@pytest.fixture
def confs(now):
    ee = _shared("EE", (Member(MemberClass("GOV"), "70000001", "Tax board", (Subsystem("tax", "Tax"),)),),
                 (SecurityServer(EE_TAX_OWNER, "gw1", "127.0.0.1:5500", (b"a" * 32,), (EE_TAX,)),),
                 (GlobalGroup("trusted", "Trusted", (EE_TAX_OWNER,)),))
    fi = _shared("FI", (Member(MemberClass("GOV"), "0245437-2", "Vero", (Subsystem("vero", "Tax records"),)),),
                 (SecurityServer(FI_VERO.member, "gw1", "10.0.0.1", (b"b" * 32,), (FI_VERO,)),
                  SecurityServer(FI_VERO.member, "gw2", "10.0.0.2:5501", (b"c" * 32,), (FI_VERO,),
                                 MaintenanceMode("upgrade")),))
    return {"EE": InstanceConf(ee, now + dt.timedelta(minutes=10)), "FI": InstanceConf(fi, now + dt.timedelta(minutes=5))}


def test_own_configuration_expiry_is_global_conf_outdated(confs, now):
    view = SharedParamsView("EE", lambda: confs)
    view.check_valid(now)
    with pytest.raises(XRoadFault) as info:
        view.check_valid(now + dt.timedelta(minutes=11))
    assert info.value.fault_code == "global_conf_outdated"
    with pytest.raises(XRoadFault):
        SharedParamsView("LV", lambda: confs).check_valid(now)


def test_expired_partner_disappears(confs, now):
    view = SharedParamsView("EE", lambda: confs)
    assert view.instances(now) == ["EE", "FI"]
    assert len(view.servers_serving(FI_VERO, now)) == 2
    later = now + dt.timedelta(minutes=6)
    assert view.instances(later) == ["EE"]
    assert view.servers_serving(FI_VERO, later) == []
    assert not view.client_exists(FI_VERO, later)


def test_lookups(confs, now):
    view = SharedParamsView("EE", lambda: confs)
    entry = view.server_with_auth_cert(b"b" * 32, now)
    assert entry is not None and entry.server_id == parse_server("FI/GOV/0245437-2/gw1")
    assert view.server_with_auth_cert(b"z" * 32, now) is None
    assert view.is_client_of(entry.server_id, FI_VERO, now)
    assert not view.is_client_of(entry.server_id, EE_TAX, now)
    assert view.global_groups_of(EE_TAX, now) == {GlobalGroupId("EE", "trusted")}
    assert view.global_groups_of(FI_VERO, now) == set()
    assert {c.client for c in view.list_clients("FI", now)} == {FI_VERO, FI_VERO.member}
    assert view.member_name(EE_TAX_OWNER, now) == "Tax board"
    maint = [e for e in view.servers_serving(FI_VERO, now) if e.in_maintenance]
    assert maint and maint[0].maintenance_message == "upgrade"


def test_split_address():
    assert split_address("ss1.example.ee") == ("ss1.example.ee", 5500)
    assert split_address("127.0.0.1:6000") == ("127.0.0.1", 6000)
    assert split_address("[::1]:7000") == ("::1", 7000)


def _entry(code, address, maintenance=False):
    return ServerEntry(parse_server(f"FI/GOV/0245437-2/{code}"), address, frozenset(), maintenance)


def test_router_skips_maintenance_and_prefers_a_listening_gateway():
    listening = socket.socket()
    listening.bind(("127.0.0.1", 0))
    listening.listen(8)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    closed_port = closed.getsockname()[1]
    closed.close()
    router = Router(connect_timeout=1.0)
    try:
        dead = _entry("gw1", f"127.0.0.1:{closed_port}")
        alive = _entry("gw2", f"127.0.0.1:{listening.getsockname()[1]}")
        resting = _entry("gw3", "127.0.0.1:1", maintenance=True)
        order = router.choose([dead, alive, resting])
        assert order[0] == alive and resting not in order and dead in order
        assert router.choose([resting]) == []
        router.forget(alive.address)
        assert router.choose([dead, alive])[0] == alive
    finally:
        listening.close()
        router.close()


def test_a_new_configuration_is_answered_at_once(confs, now):
    """The lookups are indexed per configuration object; a download that swaps it is seen at once."""
    current = dict(confs)
    view = SharedParamsView("EE", lambda: current)
    assert view.server_with_auth_cert(b"b" * 32, now) is not None
    assert view.is_client_of(parse_server("FI/GOV/0245437-2/gw1"), FI_VERO.member, now)  # the owner counts
    rotated = SecurityServer(FI_VERO.member, "gw1", "10.0.0.9", (b"d" * 32,), ())
    current["FI"] = InstanceConf(_shared("FI", confs["FI"].shared.members, (rotated,)), now + dt.timedelta(minutes=5))
    assert view.server_with_auth_cert(b"b" * 32, now) is None
    entry = view.server_with_auth_cert(b"d" * 32, now)
    assert entry is not None and entry.address == "10.0.0.9"
    assert not view.is_client_of(entry.server_id, FI_VERO, now)
    assert view.servers_serving(FI_VERO, now) == []
    assert [e.address for e in view.servers_serving(FI_VERO.member, now)] == ["10.0.0.9"]


def test_lookups_in_an_instance_of_national_size(now):
    """Thousands of gateways and groups: every answer still right (the index, not a scan)."""
    servers, members, groups = [], [], []
    for n in range(3000):
        owner = MemberId("EE", "GOV", f"{n:08d}")
        members.append(Member(MemberClass("GOV"), owner.member_code, f"Member {n}", (Subsystem("s", "S"),)))
        servers.append(SecurityServer(owner, "gw", f"10.0.{n // 250}.{n % 250}", (n.to_bytes(32, "big"),),
                                      (owner.subsystem("s"),)))
    groups.append(GlobalGroup("even", "Even", tuple(MemberId("EE", "GOV", f"{n:08d}") for n in range(0, 3000, 2))))
    view = SharedParamsView("EE", lambda: {"EE": InstanceConf(_shared("EE", tuple(members), tuple(servers),
                                                                         tuple(groups)), now + dt.timedelta(hours=1))})
    client = SubsystemId("EE", "GOV", "00002998", "s")
    (entry,) = view.servers_serving(client, now)
    assert entry.server_id == parse_server("EE/GOV/00002998/gw") and entry.address == "10.0.11.248"
    assert view.server_with_auth_cert((2998).to_bytes(32, "big"), now) == entry
    assert view.is_client_of(entry.server_id, client, now)
    assert not view.is_client_of(entry.server_id, SubsystemId("EE", "GOV", "00002997", "s"), now)
    assert view.global_groups_of(client, now) == {GlobalGroupId("EE", "even")}
    assert view.global_groups_of(SubsystemId("EE", "GOV", "00002997", "s"), now) == set()
    assert view.member_name(MemberId("EE", "GOV", "00001234"), now) == "Member 1234"
