"""Two authority nodes on one PostgreSQL registry (issue 19): one generates at a time, both serve the same bytes.

The generating node holds the lease (``trust.infra.Lease``), stores each generation in
the registry, and every node copies the newest stored generation into its own
``public/``. Killing the generating node with SIGKILL frees the lease; the other node
takes it and goes on publishing.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from tests.federation.central.central_support import PIN, CentralProcess, free_port, sild, wait_for
from tests.pgserver import temporary_database
from trust.protocol import MemberId

pytestmark = pytest.mark.skipif(not os.environ.get("SILD_TEST_POSTGRES_URL"),
                                reason="needs PostgreSQL (tests/pgserver.py)")
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with temporary_database(os.environ["SILD_TEST_POSTGRES_URL"], "sild_nodes") as url:
        yield url


def _two_nodes(tmp_path: Path, db: str, *, ports: tuple[int, int] = (4000, 4001)) -> tuple[Path, Path]:
    from federation.central.registry import init_central, init_node

    a, b = tmp_path / "cs1", tmp_path / "cs2"
    init_central(str(a), instance="EE", url=f"http://127.0.0.1:{ports[0]}", pin=PIN, now=NOW, database_url=db)
    init_node(str(b), url=f"http://127.0.0.1:{ports[1]}", database_url=db, token_dir=a / "token")
    return a, b


def _published(directory: Path) -> dict[str, bytes]:
    """What a node serves now: its signed directories, the files of the generation they name, its state."""
    public = directory / "public"
    folder = json.loads((public / "generation.json").read_bytes())["folder"]
    files = [public / "generation.json", public / "V6" / "internalconf", public / "V6" / "externalconf",
             *sorted((public / "V6" / folder).iterdir())]
    return {str(p.relative_to(public)): p.read_bytes() for p in files}


def test_the_second_node_serves_the_bytes_the_first_generated(tmp_path: Path, pg_url: str) -> None:
    from federation.central import generate, sync_published
    from federation.central.registry import CentralDir

    a_dir, b_dir = _two_nodes(tmp_path, pg_url)
    a, b = CentralDir(a_dir, clock=lambda: NOW), CentralDir(b_dir, clock=lambda: NOW)
    try:
        assert b.token_dir == (a_dir / "token").resolve()
        assert generate(a, a.token(PIN), now=NOW).regenerated, "node B's URL (a registry change) is published"
        assert sync_published(b) and not sync_published(b)
        assert _published(b_dir) == _published(a_dir)
        shared = (b_dir / "public" / "V6" / json.loads((b_dir / "public" / "generation.json").read_bytes())["folder"]
                  / "shared-params.xml").read_bytes()
        assert b"127.0.0.1:4000" in shared and b"127.0.0.1:4001" in shared, "both nodes are sources"

        a.registry().add_member(MemberId("EE", "GOV", "70000001"), "Tax Board")
        later = NOW + dt.timedelta(seconds=1)
        assert generate(a, a.token(PIN), now=later).regenerated
        assert sync_published(b)
        assert _published(b_dir) == _published(a_dir)

        # B takes over with a clock 10 minutes behind: its generation still sorts (and is served) as the newest
        b.registry().add_member(MemberId("EE", "GOV", "70000002"), "Statistics")
        taken = generate(b, b.token(PIN), now=NOW - dt.timedelta(minutes=10))
        assert taken.regenerated and taken.folder > json.loads((a_dir / "public" / "generation.json").read_bytes())["folder"]
        assert sync_published(a) and _published(a_dir) == _published(b_dir)
    finally:
        a.close()
        b.close()


def test_status_names_the_generating_node_and_a_node_left_behind(tmp_path: Path, pg_url: str) -> None:
    from federation.central import GENERATION_LEASE, central_status, central_status_lines, generate, sync_published
    from federation.central.registry import CentralDir
    from trust.infra import Lease

    a_dir, b_dir = _two_nodes(tmp_path, pg_url)
    a, b = CentralDir(a_dir, clock=lambda: NOW), CentralDir(b_dir, clock=lambda: NOW)
    lease = Lease(a.registry().engine, GENERATION_LEASE, holder="cs1.example.ee pid 42")
    try:
        assert lease.acquire()
        generate(a, a.token(PIN), now=NOW)
        sync_published(b)
        a.registry().add_member(MemberId("EE", "GOV", "70000001"), "Tax Board")
        generate(a, a.token(PIN), now=NOW + dt.timedelta(seconds=1))  # B has not copied it yet
        soon, later = NOW + dt.timedelta(minutes=1), NOW + dt.timedelta(minutes=6)
        report = central_status(b, soon)
        assert report["generation"]["shared_registry"] and report["generation"]["lease_holder"] == "cs1.example.ee pid 42"
        assert report["generation"]["serving_newest"] is False and report["health"]["status"] == "ok"  # seconds behind
        assert "  generated by: cs1.example.ee pid 42" in central_status_lines(report)
        codes = [p["code"] for p in central_status(b, later)["health"]["problems"]]
        assert codes == ["federation.central.node_behind"], "a node that stopped copying is reported"
        assert sync_published(b)
        assert central_status(b, later)["generation"]["serving_newest"] is True
        lease.release()
        assert central_status(a, later)["generation"]["lease_holder"] is None
    finally:
        lease.close()
        a.close()
        b.close()


def test_generate_on_the_command_line_leaves_generation_to_the_node_that_holds_the_lease(
        tmp_path: Path, pg_url: str) -> None:
    from click.testing import CliRunner
    from sqlalchemy import create_engine

    from federation.central import GENERATION_LEASE
    from gateway.cli import cli
    from trust.infra import Lease

    a_dir, b_dir = _two_nodes(tmp_path, pg_url)
    engine = create_engine(pg_url)
    serving = Lease(engine, GENERATION_LEASE, holder="cs1.example.ee pid 42")
    try:
        assert serving.acquire()
        refused = CliRunner().invoke(cli, ["central", "generate", str(b_dir), "--force"], env={"SILD_TOKEN_PIN": PIN})
        assert refused.exit_code == 1
        assert "another authority node (cs1.example.ee pid 42) generates the configuration" in refused.output
        serving.release()
        done = CliRunner().invoke(cli, ["central", "generate", str(b_dir), "--force"], env={"SILD_TOKEN_PIN": PIN})
        assert done.exit_code == 0 and done.output.startswith("published: serial")
    finally:
        serving.close()
        engine.dispose()


def test_a_further_node_needs_a_shared_registry_and_the_token(tmp_path: Path, pg_url: str) -> None:
    from federation.central.registry import init_node
    from federation.errors import FederationError

    a_dir, _ = _two_nodes(tmp_path, pg_url)
    with pytest.raises(FederationError, match="PostgreSQL URL"):
        init_node(str(tmp_path / "c"), url="http://127.0.0.1:4002", database_url=str(a_dir / "registry.db"),
                  token_dir=a_dir / "token")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FederationError, match="holds no token"):
        init_node(str(tmp_path / "c"), url="http://127.0.0.1:4002", database_url=pg_url, token_dir=tmp_path / "empty")
    assert not (tmp_path / "c").exists()


def _holder(db: str) -> str | None:
    from sqlalchemy import create_engine

    from federation.central import GENERATION_LEASE
    from trust.infra import Lease

    engine = create_engine(db)
    try:
        return Lease(engine, GENERATION_LEASE).holder()
    finally:
        engine.dispose()


def _registry_serial(db: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(db)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT serial FROM registry_state")).scalar_one())
    finally:
        engine.dispose()


def _serial(directory: Path) -> int:
    return int(json.loads((directory / "public" / "generation.json").read_bytes())["serial"])


def _verified_across(anchor: bytes, directory_from: str, parts_from: str) -> bytes:
    """Download internalconf from one node and the parts it names from the other: it verifies."""
    from federation.anchor import parse_anchor
    from federation.directory import verify_directory

    data = httpx.get(f"{directory_from}/internalconf?version=6", timeout=10).content
    verified = verify_directory(data, parse_anchor(anchor), at=dt.datetime.now(dt.timezone.utc),
                                fetch_part=lambda loc: httpx.get(parts_from + loc, timeout=10).content)
    assert verified.shared_parameters is not None
    return data


@pytest.mark.slow
def test_two_serving_nodes_and_the_generating_one_killed(tmp_path: Path, pg_url: str) -> None:
    ports = (free_port(), free_port())
    a_dir, b_dir = _two_nodes(tmp_path, pg_url, ports=ports)
    nodes = {a_dir: CentralProcess(a_dir, ports[0]), b_dir: CentralProcess(b_dir, ports[1])}
    try:
        for node in nodes.values():
            node.wait_ready()
        url_a, url_b = nodes[a_dir].url, nodes[b_dir].url
        anchor = tmp_path / "anchor.xml"
        sild("central", "anchor", str(a_dir), "--internal", "--out", str(anchor))
        assert f"127.0.0.1:{ports[1]}".encode() in anchor.read_bytes(), "the anchor lists both nodes"

        sild("central", "member", "add", str(a_dir), "--member", "EE/GOV/70000001", "--name", "Tax Board")
        serial = _registry_serial(pg_url)
        wait_for(lambda: _serial(a_dir) == _serial(b_dir) == serial and _published(a_dir) == _published(b_dir),
                 what="both nodes to serve the same generation of the change")
        served = _verified_across(anchor.read_bytes(), url_a, url_b)
        assert served == _verified_across(anchor.read_bytes(), url_b, url_a)

        holder = wait_for(lambda: _holder(pg_url), what="a lease holder")
        generating = a_dir if f":{ports[0]} pid" in holder else b_dir
        survivor = b_dir if generating == a_dir else a_dir
        assert f"pid {nodes[generating].process.pid}" in holder
        before = _serial(survivor)
        os.kill(nodes[generating].process.pid, signal.SIGKILL)
        nodes[generating].process.wait(timeout=30)

        sild("central", "member", "add", str(survivor), "--member", "EE/GOV/70000002", "--name", "Statistics")
        wait_for(lambda: _serial(survivor) > before, timeout=90, what="the survivor to publish a new generation")
        assert f"pid {nodes[survivor].process.pid}" in (_holder(pg_url) or "")
        after = _verified_across(anchor.read_bytes(), nodes[survivor].url, nodes[survivor].url)
        assert after != served
        serial = _serial(survivor)
        sild("central", "settings", "set", str(survivor), "ocspFreshnessSeconds", "1800")
        wait_for(lambda: _serial(survivor) > serial, timeout=90, what="it to keep publishing")
    finally:
        for node in nodes.values():
            node.stop()


def test_two_nodes_sign_through_one_pkcs11_token(tmp_path: Path, pg_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The shared token as an HSM (SoftHSM2 here): both nodes sign with keys that never leave it."""
    from federation.anchor import parse_anchor
    from federation.central import generate, sync_published
    from federation.central.registry import CentralDir, build_anchor, init_central, init_node
    from federation.directory import verify_directory
    from tests.support.softhsm import make_token
    from trust.keys import Pkcs11Token

    hsm = make_token(tmp_path / "hsm", monkeypatch)
    token = (str(hsm.library), hsm.label)
    a_dir, b_dir = tmp_path / "cs1", tmp_path / "cs2"
    init_central(str(a_dir), instance="EE", url="http://127.0.0.1:4000", pin=hsm.pin, now=NOW, database_url=pg_url,
                 pkcs11=token)
    init_node(str(b_dir), url="http://127.0.0.1:4001", database_url=pg_url, pkcs11=token)
    assert not (a_dir / "token").exists() and json.loads((b_dir / "central.json").read_bytes())["pkcs11"] == {
        "library": str(hsm.library), "label": hsm.label}
    a, b = CentralDir(a_dir, clock=lambda: NOW), CentralDir(b_dir, clock=lambda: NOW)
    a_token, b_token = a.token(hsm.pin), b.token(hsm.pin)
    try:
        assert isinstance(b_token, Pkcs11Token) and len(b_token.key_ids()) == 2, "the keys are in the token"
        assert generate(a, a_token, now=NOW).regenerated
        b.registry().add_member(MemberId("EE", "GOV", "70000001"), "Tax Board")
        later = NOW + dt.timedelta(seconds=5)
        assert generate(b, b_token, now=later).regenerated  # B took over: it signs with the same keys
        assert sync_published(a) and _published(a_dir) == _published(b_dir)
        anchor = parse_anchor(build_anchor(a, internal=True, now=later))
        verified = verify_directory((b_dir / "public" / "V6" / "internalconf").read_bytes(), anchor, at=later,
                                    fetch_part=lambda loc: (a_dir / "public" / loc.lstrip("/")).read_bytes())
        assert verified.shared_parameters is not None
        assert any(m.member_code == "70000001" for m in verified.shared_parameters.members)
    finally:
        a_token.close()
        b_token.close()
        a.close()
        b.close()
