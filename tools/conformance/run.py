"""Runs the conformance checks and gathers what the report says around them.

Why the checks are the project's own tests, run by pytest in a subprocess, rather than a
second runner calling sild per vector: the tests already hold, for every X-Road vector and
every interoperability peer, the outcome X-Road expects and the code that checks it
(``tests/trust/protocol/test_soap_vectors.py`` maps 141 SOAP cases to their fault codes,
``tests/trust/evidence/test_asic.py`` each container to its refusal, ...). A second runner
would repeat that knowledge and could drift from it; marking the tests
(``@pytest.mark.conformance``) makes the report exactly what the tests prove today, and a
check added to the tests reaches the report with its marker. The subprocess keeps the
report's run apart from the caller (its own working directory, environment and exit code),
and lets the report be made with a ``PATH`` or vectors the caller chooses.

The run needs a source checkout (``tests/``) and the test dependencies (pytest); it reads
the vectors where the tests do (``$SILD_XROAD_VECTORS``, else ``../shared/conformance/xroad``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import importlib.metadata
import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.vectors import SOURCES, read_sources

from .plugin import peer_missing

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MARKED = re.compile(r"^\s*@pytest\.mark\.conformance\(", re.M)
PEERS = ("openssl", "xmlsec1", "zeep")
"""The independent peers the report names in its header, whether or not a selected check uses them."""
REQUIRE_ENV = "SILD_REQUIRE_XROAD_VECTORS"
FOLDERS = ("asic", "certs", "globalconf", "schemas", "services", "signatures", "soap")


class ReportError(Exception):
    """Why no report could be made: one line for the person who asked for it."""


@dataclass
class Meta:
    """What a reader needs to judge the outcomes: which sild, which vectors, which peers."""

    sild_version: str
    sild_commit: str
    xroad_commit: str
    xroad_commit_source: str
    vectors: str
    vectors_present: bool
    vectors_changed: list[str] = field(default_factory=list)
    peers: dict[str, str] = field(default_factory=dict)
    generated: str = ""
    areas: list[str] = field(default_factory=list)


def vectors_root(env: dict[str, str] | None = None) -> Path:
    """Where the tests look for X-Road's vectors (the rule of ``tests/support/conformance.py``)."""
    found = os.environ if env is None else env
    return Path(found.get("SILD_XROAD_VECTORS") or PROJECT_ROOT.parent / "shared" / "conformance" / "xroad")


def marked_files(root: Path = PROJECT_ROOT) -> list[Path]:
    """The test modules that hold at least one conformance check (found by their marker)."""
    return [path for path in sorted((root / "tests").rglob("test_*.py"))
            if MARKED.search(path.read_text("utf-8"))]


def child_env(env: dict[str, str] | None = None) -> dict[str, str]:
    """The run's environment: the caller's, the project on ``PYTHONPATH``, vectors optional.

    ``SILD_REQUIRE_XROAD_VECTORS`` is dropped: it makes a test run without vectors stop at
    once, while the report must still be written, saying per area what was skipped and why.
    """
    out = dict(os.environ if env is None else env)
    out.pop(REQUIRE_ENV, None)
    out["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), out.get("PYTHONPATH", "")) if p)
    return out


def _pytest(args: list[str], env: dict[str, str], log: Path, timeout: float) -> int:
    command = [sys.executable, "-m", "pytest", "-p", "tools.conformance.plugin", "-p", "no:cacheprovider",
               "-q", *args]
    with log.open("w", encoding="utf-8") as sink:
        try:
            done = subprocess.run(command, cwd=PROJECT_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                                  stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"the checks did not finish within {timeout:.0f} s (log: {log})") from exc
    if done.returncode not in (0, 1, 5):  # passed, some failed, nothing selected
        tail = " | ".join(log.read_text("utf-8", "replace").strip().splitlines()[-3:])
        raise ReportError(f"pytest stopped with exit code {done.returncode}: {tail} (log: {log})")
    return done.returncode


def _area_args(areas: list[str]) -> list[str]:
    return [arg for area in areas for arg in ("--conformance-area", area)]


def run_checks(log: Path, areas: list[str] | None = None, env: dict[str, str] | None = None,
               timeout: float = 3600.0) -> list[dict[str, Any]]:
    """Run every conformance check (or those of ``areas``) and return one record per check."""
    with tempfile.TemporaryDirectory(prefix="sild-conformance-") as tmp:
        out = Path(tmp) / "records.json"
        files = [str(p) for p in marked_files()]
        _pytest(["--conformance-json", str(out), *_area_args(areas or []), *files], child_env(env), log, timeout)
        if not out.exists():
            raise ReportError(f"the checks wrote no records (log: {log})")
        records: list[dict[str, Any]] = json.loads(out.read_text("utf-8"))
    return records


def catalogue(areas: list[str] | None = None, timeout: float = 600.0) -> list[dict[str, Any]]:
    """Every marked test function (none is run): area, function, the vectors it reads, its peer."""
    with tempfile.TemporaryDirectory(prefix="sild-conformance-") as tmp:
        out, log = Path(tmp) / "catalogue.json", Path(tmp) / "pytest.log"
        files = [str(p) for p in marked_files()]
        _pytest(["--collect-only", "--conformance-catalogue", str(out), *_area_args(areas or []), *files],
                child_env(), log, timeout)
        if not out.exists():
            raise ReportError("collecting the conformance checks wrote nothing: "
                              + " | ".join(log.read_text("utf-8", "replace").strip().splitlines()[-3:]))
        found: list[dict[str, Any]] = json.loads(out.read_text("utf-8"))
    return found


def changed_vectors(root: Path) -> list[str]:
    """The vector files that are not X-Road's bytes (``SOURCES.tsv`` rows marked ``exact``)."""
    manifest = root / "SOURCES.tsv" if (root / "SOURCES.tsv").is_file() else SOURCES
    _, rows = read_sources(manifest)
    changed = []
    for row in rows:
        path = root / row.local
        if row.match != "exact":
            continue
        if not path.is_file():
            changed.append(f"{row.local} (missing)")
        elif hashlib.sha256(path.read_bytes()).hexdigest() != row.sha256:
            changed.append(f"{row.local} (differs from X-Road's file)")
    return changed


def _git(*args: str) -> str:
    try:
        done = subprocess.run(["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=30,
                              check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout.strip() if done.returncode == 0 else ""


def _peer_version(peer: str, env: dict[str, str]) -> str:
    from shutil import which

    path = which(peer, path=env.get("PATH", ""))
    if path is not None:
        flag = "version" if peer == "openssl" else "--version"
        try:
            done = subprocess.run([path, flag], capture_output=True, text=True, timeout=30, check=False)
            return (done.stdout.strip().splitlines() or [path])[0]
        except (OSError, subprocess.SubprocessError):
            return path
    if peer.isidentifier():
        try:
            return f"{peer} {importlib.metadata.version(peer)} (Python)"
        except importlib.metadata.PackageNotFoundError:
            pass
    return "missing"


def meta(areas: list[str] | None = None, env: dict[str, str] | None = None) -> Meta:
    """The report's header: sild's version and commit, X-Road's commit, vectors, peers."""
    env = dict(os.environ if env is None else env)
    root = vectors_root(env)
    present = all((root / folder).is_dir() for folder in FOLDERS)
    own = root / "SOURCES.tsv"
    commit, source = (read_sources(own)[0], f"{own}") if present and own.is_file() else \
        (read_sources(SOURCES)[0], "tools/xroad-sources.tsv, the commit `make vectors` builds")
    try:
        version = importlib.metadata.version("sild")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    peers = {peer: (reason if (reason := peer_missing(peer, env.get("PATH", ""))) else _peer_version(peer, env))
             for peer in PEERS}
    return Meta(
        sild_version=version, sild_commit=_git("describe", "--always", "--dirty", "--abbrev=12"),
        xroad_commit=commit, xroad_commit_source=source, vectors=str(root), vectors_present=present,
        vectors_changed=changed_vectors(root) if present else [], peers=peers,
        generated=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC"), areas=list(areas or []))
