"""On-disk storage of downloaded configuration (the configuration client's side).

Layout under the storage root (one folder per instance, compatible with X-Road's
``/etc/xroad/globalconf`` so that X-Road-style readers and :mod:`federation.conftree`
both understand it)::

    ROOT/instance-identifier            own instance code (as X-Road writes it)
    ROOT/status.json                    last attempt per instance: ok or why not
    ROOT/high-water.json                newest expiry accepted per instance (no rollback)
    ROOT/EE -> .EE.20260601T120000-1a2b (symlink to the current generation)
    ROOT/.EE.20260601T120000-1a2b/
        directory                       the raw signed directory, for re-verification
        metadata.json                   instance, version, expiry, source, parts
        shared-params.xml               verified bytes, exactly as downloaded
        shared-params.xml.metadata      X-Road's per-file metadata JSON
        private-params.xml (+.metadata) own instance only
        monitoring-params.xml ...       optional parts, when published

A new generation is written completely (files fsynced) into a fresh hidden folder
and then made current by atomically replacing the symlink, so a reader sees the old
copy or the new one, never a mix; the previous generation is removed afterwards.
Nothing here trusts what it reads back: :mod:`federation.conftree` can re-verify
the stored ``directory`` against the anchor.

``high-water.json`` remembers, per instance, the latest ``Expire-date`` of a
directory this client ever accepted. An attacker on the plain-HTTP distribution
path can replay an older directory that is still valid (its signature and expiry
hold); the client refuses any directory that expires before the mark. The mark is
a file of its own, not the current generation's metadata, so it survives a restart,
a removed partner and a damaged or deleted generation folder alike.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trust.infra import fsync_directory
from trust.keys import write_atomic

from federation.directory import VerifiedConfiguration
from federation.model import FETCHINTERVAL, MONITORING, NEXTUPDATE, PRIVATE_PARAMETERS, SHARED_PARAMETERS
from federation.model import ConfTreeInvalid

FILE_NAMES = {
    SHARED_PARAMETERS: "shared-params.xml",
    PRIVATE_PARAMETERS: "private-params.xml",
    MONITORING: "monitoring-params.xml",
    FETCHINTERVAL: "fetchinterval-params.xml",
    NEXTUPDATE: "nextupdate-params.xml",
}
DIRECTORY_FILE = "directory"
METADATA_FILE = "metadata.json"
STATUS_FILE = "status.json"
HIGH_WATER_FILE = "high-water.json"
INSTANCE_FILE = "instance-identifier"
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.()'+,=?-]{0,127}$")


def instance_folder_name(instance: str) -> str:
    """The folder name of an instance; refuses codes that are not safe path names."""
    if not _SAFE_NAME.match(instance) or ".." in instance:
        raise ConfTreeInvalid(f"instance code {instance!r} cannot be stored as a folder name")
    return instance


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


@dataclass(frozen=True)
class StoredPart:
    content_identifier: str
    instance: str | None
    location: str
    file: str | None  # None: verified but not stored (unknown content identifier)
    sha512: str


@dataclass(frozen=True)
class StoredMetadata:
    instance: str
    version: int
    expires_at: dt.datetime
    downloaded_at: dt.datetime
    source_url: str
    kind: str  # "internal" (own instance) or "external" (federated partner)
    parts: tuple[StoredPart, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "instance": self.instance,
            "version": self.version,
            "expiresAt": _iso(self.expires_at),
            "downloadedAt": _iso(self.downloaded_at),
            "sourceUrl": self.source_url,
            "kind": self.kind,
            "parts": [
                {
                    "contentIdentifier": p.content_identifier,
                    "instance": p.instance,
                    "location": p.location,
                    "file": p.file,
                    "sha512": p.sha512,
                }
                for p in self.parts
            ],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "StoredMetadata":
        try:
            return cls(
                instance=str(data["instance"]),
                version=int(data["version"]),
                expires_at=_parse_iso(data["expiresAt"]),
                downloaded_at=_parse_iso(data["downloadedAt"]),
                source_url=str(data["sourceUrl"]),
                kind=str(data["kind"]),
                parts=tuple(
                    StoredPart(p["contentIdentifier"], p.get("instance"), p["location"], p.get("file"), p["sha512"])
                    for p in data["parts"]
                ),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfTreeInvalid(f"stored metadata is damaged: {exc}") from exc


def store_configuration(
    root: Path, verified: VerifiedConfiguration, *, kind: str, source_url: str, downloaded_at: dt.datetime
) -> StoredMetadata:
    """Store a verified configuration as the current generation of its instance."""
    name = instance_folder_name(verified.instance)
    root.mkdir(parents=True, exist_ok=True)
    stamp = downloaded_at.astimezone(dt.timezone.utc).strftime("%Y%m%dT%H%M%S")
    generation = root / f".{name}.{stamp}-{secrets.token_hex(4)}"
    generation.mkdir()
    parts = []
    for part in verified.parts:
        file_name = FILE_NAMES.get(part.content_identifier)
        if kind == "external" and part.content_identifier != SHARED_PARAMETERS:
            file_name = None  # a partner's configuration contributes its shared parameters only
        if file_name is not None:
            write_atomic(generation / file_name, part.data)
            xroad_meta = {
                "contentIdentifier": part.content_identifier,
                "instanceIdentifier": verified.instance,
                "expirationDate": _iso(verified.expires_at),
                "configurationVersion": str(verified.version),
            }
            write_atomic(generation / f"{file_name}.metadata", json.dumps(xroad_meta).encode())
        parts.append(
            StoredPart(
                part.content_identifier,
                part.instance,
                part.location,
                file_name,
                base64.b64encode(hashlib.sha512(part.data).digest()).decode(),
            )
        )
    write_atomic(generation / DIRECTORY_FILE, verified.directory_bytes)
    metadata = StoredMetadata(
        instance=verified.instance,
        version=verified.version,
        expires_at=verified.expires_at,
        downloaded_at=downloaded_at,
        source_url=source_url,
        kind=kind,
        parts=tuple(parts),
    )
    write_atomic(generation / METADATA_FILE, json.dumps(metadata.to_json(), indent=2).encode())
    _swap(root, name, generation)
    if kind == "internal":
        write_atomic(root / INSTANCE_FILE, verified.instance.encode())
    return metadata


def _swap(root: Path, name: str, generation: Path) -> None:
    link = root / name
    previous = link.resolve() if link.is_symlink() else None
    if link.exists() and not link.is_symlink():
        # a plain folder (e.g. copied from X-Road): move it aside first
        aside = root / f".{name}.replaced-{secrets.token_hex(4)}"
        os.replace(link, aside)
        previous = aside
    tmp_link = root / f".{name}.link-{secrets.token_hex(4)}"
    os.symlink(generation.name, tmp_link)
    os.replace(tmp_link, link)  # atomic: readers see the old or the new generation
    fsync_directory(root, best_effort=True)
    if previous is not None and previous != generation.resolve() and previous.parent == root.resolve():
        shutil.rmtree(previous, ignore_errors=True)


def read_metadata(root: Path, instance: str) -> StoredMetadata | None:
    path = root / instance_folder_name(instance) / METADATA_FILE
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    try:
        return StoredMetadata.from_json(json.loads(raw))
    except json.JSONDecodeError as exc:
        raise ConfTreeInvalid(f"{path} is not JSON") from exc


def read_part(root: Path, instance: str, content_identifier: str) -> bytes | None:
    name = FILE_NAMES.get(content_identifier)
    if name is None:
        return None
    try:
        return (root / instance_folder_name(instance) / name).read_bytes()
    except FileNotFoundError:
        return None


def stored_parts_by_location(root: Path, instance: str) -> dict[str, bytes]:
    """Stored part bytes keyed by their last ``Content-location`` (to skip unchanged downloads)."""
    metadata = read_metadata(root, instance)
    if metadata is None:
        return {}
    out = {}
    for part in metadata.parts:
        if part.file is None:
            continue
        try:
            out[part.location] = (root / instance_folder_name(instance) / part.file).read_bytes()
        except FileNotFoundError:
            continue
    return out


def stored_instances(root: Path) -> list[str]:
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if not p.name.startswith(".") and (p / METADATA_FILE).exists())


def remove_instance(root: Path, instance: str) -> None:
    link = root / instance_folder_name(instance)
    target = link.resolve() if link.is_symlink() else None
    if link.is_symlink():
        link.unlink()
    elif link.is_dir():
        shutil.rmtree(link, ignore_errors=True)
    if target is not None and target.parent == root.resolve():
        shutil.rmtree(target, ignore_errors=True)


def read_status(root: Path) -> dict[str, Any]:
    try:
        value = json.loads((root / STATUS_FILE).read_bytes())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def write_status(root: Path, status: dict[str, Any]) -> None:
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / STATUS_FILE, json.dumps(status, indent=2, sort_keys=True).encode())


def read_high_water(root: Path) -> dict[str, dt.datetime]:
    """The newest expiry accepted per instance; an unreadable file counts as no mark (logged by the caller)."""
    try:
        value = json.loads((root / HIGH_WATER_FILE).read_bytes())
    except FileNotFoundError:
        return {}
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfTreeInvalid(f"{root / HIGH_WATER_FILE} is damaged: {exc}") from exc
    marks: dict[str, dt.datetime] = {}
    if isinstance(value, dict):
        for instance, entry in value.items():
            try:
                marks[str(instance)] = _parse_iso(entry["expiresAt"])
            except (KeyError, TypeError, ValueError) as exc:
                raise ConfTreeInvalid(f"{root / HIGH_WATER_FILE}: bad entry for {instance}: {exc}") from exc
    return marks


def raise_high_water(root: Path, instance: str, expires_at: dt.datetime) -> None:
    """Move the mark of ``instance`` up to ``expires_at`` (never down); written atomically.

    A damaged file is replaced by one holding this mark (the caller has already
    compared with the stored generation's expiry instead, see the client).
    """
    try:
        marks = read_high_water(root)
    except ConfTreeInvalid:
        marks = {}
    current = marks.get(instance)
    if current is not None and current >= expires_at:
        return
    marks[instance] = expires_at
    data = {name: {"expiresAt": _iso(moment)} for name, moment in sorted(marks.items())}
    root.mkdir(parents=True, exist_ok=True)
    write_atomic(root / HIGH_WATER_FILE, json.dumps(data, indent=2).encode())
