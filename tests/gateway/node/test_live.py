"""Live changes of a gateway node (``gateway.node._live``, issue 17): a withdrawn CA fails the next
mutual-TLS handshake of the running port, a new auth certificate is served without a restart,
``sild gateway set`` warns about what needs a restart, and a running node's check applies
the live settings and keeps the others."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gateway.cli import cli
from gateway.net import EdgeServer, client_ssl_context
from gateway.node._live import NodeLive
from gateway.node._ports import NodePorts
from gateway.settings import NodeSettings, restart_only

from tests.support import pki

NOW = dt.datetime.now(dt.timezone.utc)
VALID = {"not_before": NOW - dt.timedelta(days=1), "not_after": NOW + dt.timedelta(days=30)}


def _ca(cn: str) -> tuple[Any, Any]:
    key = pki.new_key()
    return pki.self_signed(key, pki.name(CN=cn), ca=True, **VALID), key


def _leaf(directory: Path, stem: str, ca: tuple[Any, Any]) -> tuple[str, str, None]:
    key = pki.new_key()
    cert = pki.issue(pki.name(CN=stem), key.public_key(), ca[0].subject, ca[1], **VALID)
    cert_path, key_path = pki.write_tls_files(directory, stem, cert, key)
    return str(cert_path), str(key_path), None


@dataclasses.dataclass
class _View:
    pem: bytes

    def ca_certs_pem(self, at: dt.datetime) -> bytes:
        return self.pem


class _Ports(NodePorts):
    """The TLS part of a node over a stand-in configuration view."""

    def __init__(self, key: tuple[str, str, None], view: _View) -> None:
        self._key, self.view, self.clock = key, view, lambda: NOW  # type: ignore[assignment]
        self._server_ctx = None
        self._client_ctx = client_ssl_context(*key)


def _app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"peer ok"]


def _ask(port: int, client: tuple[str, str, None]) -> tuple[str, Any]:
    """One HTTPS request with a client certificate: ("ok", server cert) or ("refused", reason)."""
    ctx = client_ssl_context(*client)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as tls:
            server_cert = tls.getpeercert(binary_form=True)
            tls.sendall(b"GET / HTTP/1.1\r\nHost: peer\r\nConnection: close\r\n\r\n")
            data = tls.recv(4096)  # TLS 1.3: the server checks the client certificate after the client's Finished
    except (ssl.SSLError, ConnectionError) as exc:
        return "refused", exc
    return ("ok", server_cert) if data.startswith(b"HTTP/1.1 200") else ("refused", data)


def test_a_withdrawn_ca_fails_the_next_handshake_and_a_new_auth_certificate_is_served(tmp_path: Path) -> None:
    ca1, ca2 = _ca("CA one"), _ca("CA two")
    own = _leaf(tmp_path, "own", ca1)
    peer1, peer2 = _leaf(tmp_path, "peer1", ca1), _leaf(tmp_path, "peer2", ca2)
    view = _View(pki.pem(ca1[0]) + pki.pem(ca2[0]))
    ports = _Ports(own, view)
    ports._peer_tls_context("no CAs")
    server = EdgeServer(_app, "127.0.0.1", 0, ssl_context=ports._server_ctx).start()
    try:
        assert _ask(server.port, peer2)[0] == "ok"
        view.pem = pki.pem(ca1[0])  # CA two withdrawn from the configuration
        ports._reload_cas()
        assert _ask(server.port, peer2)[0] == "refused"
        assert _ask(server.port, peer1)[0] == "ok"

        renewed = _leaf(tmp_path / "renewed", "own", ca1)  # the auth key renewed: a new certificate in place
        Path(own[0]).write_bytes(Path(renewed[0]).read_bytes())
        Path(own[1]).write_bytes(Path(renewed[1]).read_bytes())
        ports._reload_own_tls()
        outcome, served = _ask(server.port, peer1)
        assert outcome == "ok" and served == _der_of(renewed[0])
    finally:
        server.stop()


def _der_of(cert_file: str) -> bytes:
    from cryptography import x509

    return pki.der(x509.load_pem_x509_certificate(Path(cert_file).read_bytes()))


def _gateway_dir(tmp_path: Path) -> Path:
    NodeSettings(server="EE/GOV/70000001/ss1", instance="EE").save(tmp_path)
    return tmp_path


def test_set_changes_settings_and_warns_about_those_needing_a_restart(tmp_path: Path) -> None:
    gdir = _gateway_dir(tmp_path)
    runner = CliRunner()
    live = runner.invoke(cli, ["gateway", "set", str(gdir), "allowed_federations=FI", "conf_interval_seconds=30"])
    assert live.exit_code == 0, live.output
    assert "allowed_federations: none -> FI" in live.output and "warning" not in live.output
    assert NodeSettings.load(gdir).allowed_federations == ("FI",)

    fixed = runner.invoke(cli, ["gateway", "set", str(gdir), "peer_port=5600", "workers=2"])
    assert fixed.exit_code == 0, fixed.output
    assert "sild: warning: peer_port takes effect at the next restart of the node" in fixed.output
    assert "sild: warning: workers takes effect at the next restart of the node" in fixed.output

    for bad, reason in (("workers=lots", "whole number"), ("colour=red", "not one of the settings"),
                        ("workers=0", "workers must be"), ("registration={}", "not one of the settings"),
                        ("workers", "not NAME=VALUE")):
        refused = runner.invoke(cli, ["gateway", "set", str(gdir), bad])
        assert refused.exit_code == 1 and reason in refused.output, refused.output
        assert refused.output.strip().count("\n") == 0
    assert NodeSettings.load(gdir).workers == 2  # refusals changed nothing


def test_restart_only_names_the_settings_fixed_at_start() -> None:
    base = NodeSettings(server="EE/GOV/70000001/ss1", instance="EE")
    changed = dataclasses.replace(base, is_port=9, workers=3, allowed_federations=("FI",), conf_interval_seconds=5)
    assert restart_only(base, changed) == ["is_port", "workers"]


def test_an_owner_change_is_live_and_another_server_is_not() -> None:
    base = NodeSettings(server="EE/GOV/70000002/gw1", instance="EE")
    assert restart_only(base, dataclasses.replace(base, server="EE/COM/10000003/gw1")) == []  # owner apply
    assert restart_only(base, dataclasses.replace(base, server="EE/GOV/70000002/gw2")) == ["server"]


class _Store:
    def __init__(self) -> None:
        self.followed: list[NodeSettings] = []

    def follow(self, settings: NodeSettings) -> bool:
        self.followed.append(settings)
        return False


class _Live(NodeLive):
    """The live part of a node, without ports or keys."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.settings = NodeSettings.load(directory)
        self.conf_store = _Store()
        self._scheduler = None
        self._is_worker = False
        self._start_following()


def test_a_running_node_takes_live_settings_and_logs_the_others(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    gdir = _gateway_dir(tmp_path)
    node = _Live(gdir)
    assert node.follow_changes() == []
    data = json.loads((gdir / "gateway.json").read_text())
    data.update(allowed_federations="FI", peer_port=5600, ocsp_interval_seconds=120)
    (gdir / "gateway.json").write_text(json.dumps(data))
    with caplog.at_level(logging.WARNING):
        assert node.follow_changes() == ["settings"]
    assert node.settings.allowed_federations == ("FI",) and node.settings.ocsp_interval_seconds == 120
    assert node.settings.peer_port == 5500  # what the running port was bound with
    assert node.conf_store.followed[-1].allowed_federations == ("FI",)
    assert any("peer_port changed (5500 -> 5600): takes effect at the next restart" in r.getMessage()
               for r in caplog.records)

    (gdir / "gateway.json").write_text("{ half written")
    with caplog.at_level(logging.WARNING):
        node.follow_changes()
    assert node.settings.allowed_federations == ("FI",)  # a broken file leaves the node as it was
    assert any("not taken into use" in r.getMessage() for r in caplog.records)


def test_changed_intervals_reschedule_the_running_jobs(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    gdir = _gateway_dir(tmp_path)
    node = _Live(gdir)
    sched = BackgroundScheduler()
    sched.add_job(print, "interval", seconds=60, id="conf-download")
    sched.add_job(print, "interval", seconds=60, id="messagelog-timestamping")
    sched.start(paused=True)
    node._scheduler = sched
    try:
        data = json.loads((gdir / "gateway.json").read_text())
        data.update(conf_interval_seconds=7, timestamp_interval_seconds=9)
        (gdir / "gateway.json").write_text(json.dumps(data))
        node.follow_changes()
        assert sched.get_job("conf-download").trigger.interval.total_seconds() == 7
        assert sched.get_job("messagelog-timestamping").trigger.interval.total_seconds() == 9
    finally:
        sched.shutdown(wait=False)


class _Stamping(NodeLive):
    """The jobs part of a node whose configuration approves the TSAs of ``tsas``."""

    def __init__(self, directory: Path, tsas: list[Any], sched: Any) -> None:
        from types import SimpleNamespace

        self.directory, self.settings = directory, NodeSettings.load(directory)
        self.clock = lambda: NOW  # type: ignore[assignment]
        self.policy_for = lambda instance, at: SimpleNamespace(tsas=tuple(tsas))
        self.messagelog = SimpleNamespace(clock=self.clock)  # type: ignore[assignment]
        self.conf_store, self.metrics, self._is_worker, self._scheduler = None, None, False, sched
        self._server_ctx = None


def test_a_tsa_replaced_in_the_configuration_moves_the_timestamping_job(tmp_path: Path) -> None:
    from apscheduler.schedulers.background import BackgroundScheduler

    from trust.pki import ApprovedTsa

    def tsa(name: str) -> Any:
        return ApprovedTsa(name, f"http://127.0.0.1:9/{name}", pki.self_signed(pki.new_key(), pki.name(CN=name), **VALID))

    tsas = [tsa("old")]
    sched = BackgroundScheduler()
    sched.start(paused=True)
    try:
        node = _Stamping(_gateway_dir(tmp_path), tsas, sched)
        node._timestamper().schedule(sched, interval_seconds=60)  # as at start
        first = sched.get_job("messagelog-timestamping")
        node.refresh_conf()
        assert sched.get_job("messagelog-timestamping") is first  # the same TSA: the job stays
        tsas[0] = tsa("new")
        node.refresh_conf()
        assert node._tsa_in_use[0][0] == "http://127.0.0.1:9/new"
        assert sched.get_job("messagelog-timestamping") is not first
        tsas.clear()
        node.refresh_conf()
        assert sched.get_job("messagelog-timestamping") is None  # no approved TSA: nothing to stamp with
    finally:
        sched.shutdown(wait=False)


def test_a_changed_choice_of_tsas_moves_the_timestamping_job_live(tmp_path: Path) -> None:
    """``timestamping_services`` changed beside the running node (``sild gateway tsa use``, the API): at its
    next check the job stamps with the chosen TSAs in the chosen order; no restart."""
    from apscheduler.schedulers.background import BackgroundScheduler

    from trust.pki import ApprovedTsa

    def tsa(name: str) -> Any:
        return ApprovedTsa(name, f"http://127.0.0.1:9/{name}", pki.self_signed(pki.new_key(), pki.name(CN=name), **VALID))

    tsas = [tsa("one"), tsa("two")]
    sched = BackgroundScheduler()
    sched.start(paused=True)
    try:
        gdir = _gateway_dir(tmp_path)
        node = _Stamping(gdir, tsas, sched)
        node._start_following()
        node._timestamper().schedule(sched, interval_seconds=60)  # as at start: every approved TSA, in order
        assert [url for url, _ in node._tsa_in_use] == [tsas[0].url, tsas[1].url]
        first = sched.get_job("messagelog-timestamping")
        data = json.loads((gdir / "gateway.json").read_text())
        data["timestamping_services"] = ["two", tsas[0].url]
        (gdir / "gateway.json").write_text(json.dumps(data))
        assert "settings" in node.follow_changes()
        assert [url for url, _ in node._tsa_in_use] == [tsas[1].url, tsas[0].url]
        assert sched.get_job("messagelog-timestamping") is not first
        assert node._timestamper().stamper.urls == [tsas[1].url, tsas[0].url]  # asked in this order
        moved = sched.get_job("messagelog-timestamping")
        tsas[1] = tsa("three")  # the authority replaced one; an operator's run now comes before the next download
        with pytest.raises(AttributeError):
            node.timestamp_run()  # this stand-in's log cannot be read: the run stops after choosing its TSAs
        node.refresh_conf()
        assert sched.get_job("messagelog-timestamping") is not moved  # the job still moved to the new TSA
        assert [url for url, _ in node._tsa_in_use] == [tsas[0].url]  # "two" withdrawn: skipped
    finally:
        sched.shutdown(wait=False)


def test_the_global_body_logging_switch_is_set_by_the_cli_and_followed_live(tmp_path: Path) -> None:
    """``sild gateway set DIR message_body_logging=off`` (refused as "wants a whole number" before) reaches the
    running node's message log at its next check, the remote list too; no restart."""
    from gateway.db import open_engine
    from gateway.messagelog import LogEntry, MessageLog
    from gateway.serverconf import ServerConf
    from trust.protocol import SubsystemId

    gdir = _gateway_dir(tmp_path)
    node = _Live(gdir)
    node.serverconf = ServerConf(open_engine(tmp_path / "serverconf.db"), refresh_interval=0)  # type: ignore[attr-defined]
    node.messagelog = MessageLog(open_engine(tmp_path / "messagelog.db"))  # type: ignore[attr-defined]
    tax, vero = SubsystemId("EE", "GOV", "70000001", "tax"), SubsystemId("FI", "GOV", "0245437-2", "vero")

    def logged(provider: SubsystemId, side: str) -> bool:
        policy = node.messagelog.config.body_policy  # type: ignore[attr-defined]
        entry = LogEntry("q", tax, provider.service("s"), side, "request", "SOAP", b"<x/>", b"<sig/>")
        return bool(node.messagelog.config.body_logging if policy is None else policy(entry))  # type: ignore[attr-defined]

    assert logged(tax, "server") is True
    changed = CliRunner().invoke(cli, ["gateway", "set", str(gdir), "message_body_logging=off",
                                       f"message_body_logging_remote_overrides={vero.to_text()}"])
    assert changed.exit_code == 0 and "warning" not in changed.output, changed.output
    assert node.follow_changes() == ["settings"]
    assert logged(tax, "server") is False and logged(vero, "client") is True
    refused = CliRunner().invoke(cli, ["gateway", "set", str(gdir), "message_body_logging=maybe"])
    assert refused.exit_code == 1 and "wants true or false" in refused.output


def test_the_identity_is_not_changed_with_set(tmp_path: Path) -> None:
    """A new owner comes with `owner apply` (which keeps the former owner's sign key apart), not with `set`."""
    gdir = _gateway_dir(tmp_path)
    for change in ("server=EE/COM/10000003/ss1", "instance=FI"):
        refused = CliRunner().invoke(cli, ["gateway", "set", str(gdir), change])
        assert refused.exit_code == 1 and "owner apply" in refused.output, refused.output
    same = CliRunner().invoke(cli, ["gateway", "set", str(gdir), "server=EE/GOV/70000001/ss1"])
    assert same.exit_code == 0, same.output
    assert NodeSettings.load(gdir).server == "EE/GOV/70000001/ss1"
