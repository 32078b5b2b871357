"""Atomic publishing of the signed configuration on disk.

Layout under the distribution root (``DIR/public``)::

    V6/internalconf                      the signed directory served for ?version=6
    V6/externalconf
    V6/<timestamp>/private-params.xml    files the directories point at
    V6/<timestamp>/shared-params.xml     (Content-location: /V6/<timestamp>/...)
    V6/<timestamp>/monitoring-params.xml while a central monitoring client is set (internal only)
    generation.json                      what was published last (serial, times, keys)

A reader (the HTTP app, nginx, a CDN pulling the folder) must never see a directory
that names files which are not there yet, nor a half-written file. So publishing is
ordered: first every parameter file of the new generation is written into a fresh
``V<n>/<timestamp>/`` folder (each file via temp-file + fsync + rename), the folder is
fsynced, and only then each directory file is replaced by an atomic rename. A client
that downloaded the previous directory a moment earlier still finds the previous
folder: the last :data:`KEEP_GENERATIONS` folders are kept.

Because everything is static files, the same folder can be served by any web server;
``federation.central.api._app`` serves it itself. Several authority nodes each
publish into their own folder the same bytes, stored in the registry by the node
that generated them (:func:`federation.central.sync_published`).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from trust.infra import fsync_directory
from trust.keys import write_atomic

from federation.errors import FederationError

KEEP_GENERATIONS = 5
STATE_FILE = "generation.json"


class PublishError(FederationError):
    code = "federation.publish.error"


def _safe_name(name: str) -> str:
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise PublishError(f"unsafe file name {name!r}")
    return name


def publish(
    root: Path,
    version: int,
    folder: str,
    files: Mapping[str, bytes],
    directories: Mapping[str, bytes],
    state: Mapping[str, object],
    *,
    existing_ok: bool = False,
) -> None:
    """Write ``files`` into ``V<version>/<folder>/``, then switch ``directories`` and the state file.

    ``existing_ok``: a folder that exists already with exactly these files is taken as
    written (a node copying a stored generation that an interrupted copy left there).
    """
    base = root / f"V{version}"
    target = base / _safe_name(folder)
    if target.exists() and not (existing_ok and _holds(target, files)):
        raise PublishError(f"generation folder {target} exists already")
    staging = base / f".{folder}.tmp"
    try:
        if staging.exists():
            shutil.rmtree(staging)
        if not target.exists():
            staging.mkdir(parents=True)
            for name, data in files.items():
                write_atomic(staging / _safe_name(name), data)
            fsync_directory(staging, best_effort=True)
            os.replace(staging, target)
            fsync_directory(base, best_effort=True)
        for name, data in directories.items():
            write_atomic(base / _safe_name(name), data)
        fsync_directory(base, best_effort=True)
        write_atomic(root / STATE_FILE, json.dumps(dict(state), indent=2, sort_keys=True).encode("utf-8"))
    except OSError as exc:
        raise PublishError(f"cannot publish configuration into {root}: {exc}") from exc
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    prune(base, keep=KEEP_GENERATIONS)


def _holds(folder: Path, files: Mapping[str, bytes]) -> bool:
    """Does ``folder`` hold exactly ``files``?"""
    try:
        names = {p.name for p in folder.iterdir()}
        return names == set(files) and all((folder / name).read_bytes() == data for name, data in files.items())
    except OSError:
        return False


def prune(base: Path, *, keep: int) -> None:
    """Remove all but the newest ``keep`` generation folders (names sort by time)."""
    folders = sorted(p for p in base.iterdir() if p.is_dir() and not p.name.startswith("."))
    for old in folders[:-keep] if keep > 0 else folders:
        shutil.rmtree(old, ignore_errors=True)


def read_state(root: Path) -> dict[str, object] | None:
    """The state of the last publication, or None if nothing was published yet."""
    try:
        data = json.loads((root / STATE_FILE).read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise PublishError(f"cannot read {root / STATE_FILE}: {exc}") from exc
    return data if isinstance(data, dict) else None
