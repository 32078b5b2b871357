"""Every signed configuration directory the gateway relied on, kept for evidence.

Why: evidence must verify years later with the authority's anchor alone
(docs/evidence.md, "Verifying with the anchor alone"). That needs the signed directory
that was in force when a message was logged -- the exact bytes as downloaded, since
the authority's signature covers them -- but the configuration client keeps only the
current generation. Keeping every download would cost a directory per minute, so the
history keeps *runs*: a run is a stretch of downloads with the same shared parameters
and the same signing key; it remembers when it was first seen and keeps the newest
directory of the stretch (whose expiry reaches furthest). A new run starts when the
shared parameters change (a CA, TSA or member added, a new key announced in
``source``) or the directory is signed with another key (rotation), so the directory
of a run always vouches for exactly the parameters the gateway used during it, and
the history grows with the configuration's changes, not with time::

    DIR/conf-history/EE/000001/run.json          firstSeen, lastSeen, expiresAt, key
    DIR/conf-history/EE/000001/directory         the signed directory as downloaded
    DIR/conf-history/EE/000001/shared-params.xml its shared parameters, as downloaded

The main process writes it after each download (:meth:`ConfStore.refresh`); the
export reads it (:meth:`ConfHistory.carried`) to put the directories of a record's
time into its container.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from federation.directory import parse_directory
from federation.errors import FederationError
from trust.infra import write_atomic

log = logging.getLogger("sild.gateway.conf")

HISTORY_DIR = "conf-history"
RUN_FILE = "run.json"
SHARED_FILE = "shared-params.xml"
DIRECTORY_FILE = "directory"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat()


@dataclass(frozen=True)
class ConfRun:
    """One stretch of unchanged configuration of one instance."""

    instance: str
    path: Path
    first_seen: dt.datetime
    last_seen: dt.datetime
    expires_at: dt.datetime
    key: str

    @classmethod
    def read(cls, instance: str, path: Path) -> "ConfRun":
        data = json.loads((path / RUN_FILE).read_bytes())
        return cls(instance, path, dt.datetime.fromisoformat(data["firstSeen"]),
                   dt.datetime.fromisoformat(data["lastSeen"]), dt.datetime.fromisoformat(data["expiresAt"]),
                   str(data["key"]))

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "firstSeen": _iso(self.first_seen), "lastSeen": _iso(self.last_seen),
                "expiresAt": _iso(self.expires_at), "key": self.key}


class ConfHistory:
    """The runs of ``DIR/conf-history``; one writer (the gateway's main process)."""

    def __init__(self, gateway_dir: Path) -> None:
        self.gateway_dir = Path(gateway_dir)
        self.root = self.gateway_dir / HISTORY_DIR

    def runs(self, instance: str) -> list[ConfRun]:
        folder = self.root / instance
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(folder.iterdir()):
            if path.name.isdigit() and (path / RUN_FILE).is_file():
                try:
                    found.append(ConfRun.read(instance, path))
                except (OSError, ValueError, KeyError) as exc:
                    log.warning("configuration history %s unreadable: %s", path, exc)
        return found

    def instances(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir()) if self.root.is_dir() else []

    def record(self, now: dt.datetime) -> int:
        """Take the stored configuration of every instance into the history; the runs started."""
        conf = self.gateway_dir / "conf"
        started = 0
        if not conf.is_dir():
            return 0
        for folder in sorted(conf.iterdir()):
            if folder.name.startswith(".") or not (folder / DIRECTORY_FILE).is_file():
                continue
            try:
                started += self._record_instance(folder, now)
            except (OSError, ValueError, KeyError, FederationError) as exc:
                log.warning("configuration of %s not kept for evidence: %s", folder.name, exc)
        return started

    def _record_instance(self, folder: Path, now: dt.datetime) -> int:
        directory = (folder / DIRECTORY_FILE).read_bytes()
        shared = (folder / SHARED_FILE).read_bytes()
        meta = json.loads((folder / "metadata.json").read_bytes())
        instance = str(meta["instance"])
        if instance != folder.name:
            raise ValueError(f"{folder} holds the configuration of {instance}")
        downloaded = dt.datetime.fromisoformat(str(meta["downloadedAt"]).replace("Z", "+00:00"))
        parsed = parse_directory(directory)
        key = hashlib.sha256(shared + b"\0" + parsed.verification_cert_hash).hexdigest()
        runs = self.runs(instance)
        last = runs[-1] if runs else None
        if last is not None and last.key == key:
            if (last.path / DIRECTORY_FILE).read_bytes() != directory and parsed.expire_date >= last.expires_at:
                write_atomic(last.path / DIRECTORY_FILE, directory)
                run = ConfRun(instance, last.path, last.first_seen, max(now, downloaded), parsed.expire_date, key)
                write_atomic(last.path / RUN_FILE, json.dumps(run.to_json(), indent=2).encode())
            return 0
        number = int(last.path.name) + 1 if last is not None else 1
        path = self.root / instance / f"{number:06d}"
        os.makedirs(path, exist_ok=True)
        write_atomic(path / DIRECTORY_FILE, directory)
        write_atomic(path / SHARED_FILE, shared)
        run = ConfRun(instance, path, downloaded, max(now, downloaded), parsed.expire_date, key)
        write_atomic(path / RUN_FILE, json.dumps(run.to_json(), indent=2).encode(), sync_directory=True)
        log.info("configuration of %s changed: kept for evidence as run %s", instance, path.name)
        return 1

    def run_at(self, instance: str, at: dt.datetime) -> ConfRun | None:
        """The run in force at ``at``: the last one first seen at or before it."""
        chosen = None
        for run in self.runs(instance):
            if run.first_seen <= at:
                chosen = run
        return chosen

    def carried(self, at: dt.datetime, signers: Sequence[str] | None = None) -> list[tuple[str, bytes]]:
        """Entries for ``META-INF/verificationconf/`` of a container logged at ``at``.

        X-Road's verification configuration layout (``instance-identifier``, one folder
        per instance with ``shared-params.xml``) plus each instance's signed
        ``directory``: the gateway's own instance (its TSA stamped the record) and the
        signer's (``signers``; None: every instance the gateway relied on then). Only
        what the record needs, since an archive repeats it in every container.
        """
        out: list[tuple[str, bytes]] = []
        own_file = self.gateway_dir / "conf" / "instance-identifier"
        own = own_file.read_bytes().strip() if own_file.is_file() else b""
        if own:
            out.append(("instance-identifier", own))
        wanted = None if signers is None else {own.decode("ascii", "replace"), *signers}
        for instance in self.instances():
            if wanted is not None and instance not in wanted:
                continue
            run = self.run_at(instance, at)
            if run is None:
                continue
            out.append((f"{instance}/{DIRECTORY_FILE}", (run.path / DIRECTORY_FILE).read_bytes()))
            out.append((f"{instance}/{SHARED_FILE}", (run.path / SHARED_FILE).read_bytes()))
        return out if len(out) > 1 else []
