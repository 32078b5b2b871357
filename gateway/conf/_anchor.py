"""Installing a new configuration anchor in a gateway directory, checked before it replaces the old one.

Why: when the authority rotates its configuration signing key, every gateway of the
instance needs the new anchor, or its next download fails with
``unknown_verification_cert``. Copying the file by hand was a guess that could leave
a gateway with an anchor of another instance, or one whose sources never answer,
and nothing said so until traffic stopped. :func:`install_anchor` accepts only an
anchor that

* parses as an anchor (:func:`federation.anchor.parse_anchor`: safe XML, size bound),
* names this gateway's instance, and
* works: one of its sources answers with a configuration directory signed by a
  certificate the anchor names (a real download with the new anchor, nothing stored),

and only then replaces ``DIR/anchor.xml`` atomically. The running node notices the
new file (:class:`gateway.conf.ConfStore` watches it) and downloads with it at once,
so no restart is needed.

The anchor it replaces is kept in ``DIR/anchor-history/`` with when it was installed
and replaced (``anchors.json``): evidence logged while it was in force verifies with it
and no later one (docs/evidence.md, "Verifying with the anchor alone").
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from federation.anchor import anchor_fingerprint, parse_anchor
from federation.client import ClientConfig, ConfigurationClient
from federation.model import AnchorInvalid, ConfError

from trust.infra import write_atomic

from gateway.settings import NodeSettings

ANCHOR_FILE = "anchor.xml"
ANCHOR_HISTORY = "anchor-history"


class AnchorRefused(AnchorInvalid):
    """An anchor that parses but does not fit this gateway (another instance, sources that do not verify)."""

    code = "gateway.anchor.refused"


@dataclass(frozen=True)
class AnchorCheck:
    """What :func:`check_anchor` found: the anchor verified, and against what."""

    instance: str
    fingerprint: str  # SHA-224 of the file bytes, as `gateway init` prints it
    source_url: str  # the source that answered with a verified configuration
    expires_at: dt.datetime | None
    previous_fingerprint: str | None  # of the anchor it replaces, when there is one

    @property
    def unchanged(self) -> bool:
        return self.previous_fingerprint == self.fingerprint

    def to_json(self) -> dict[str, Any]:
        return {"instance": self.instance, "fingerprint": self.fingerprint, "source_url": self.source_url,
                "expires_at": self.expires_at.isoformat() if self.expires_at else None,
                "previous_fingerprint": self.previous_fingerprint, "unchanged": self.unchanged}


def check_anchor(directory: Path, data: bytes, *, at: dt.datetime, client: ConfigurationClient | None = None) -> AnchorCheck:
    """Verify ``data`` as the next anchor of the gateway in ``directory`` (nothing is written).

    ``client`` downloads (tests inject one with a transport); by default a client with
    the node's defaults. Raises :class:`AnchorInvalid` (not an anchor) or
    :class:`AnchorRefused` (another instance, or no source verifies) with a one-line reason.
    """
    settings = NodeSettings.load(directory)
    anchor = parse_anchor(data)
    if anchor.instance != settings.instance:
        raise AnchorRefused(f"the anchor is of instance {anchor.instance}, this gateway is of instance "
                            f"{settings.instance}")
    client = client or ConfigurationClient(ClientConfig(anchor=anchor, directory=directory / "conf"))
    try:
        verified, url = client.download(anchor, at)
    except ConfError as exc:
        raise AnchorRefused(f"the anchor's sources do not answer with a configuration it verifies: "
                            f"{_first_line(exc.message)}") from exc
    previous = directory / ANCHOR_FILE
    return AnchorCheck(anchor.instance, anchor_fingerprint(data), url, verified.expires_at,
                       anchor_fingerprint(previous.read_bytes()) if previous.is_file() else None)


def install_anchor(directory: Path, data: bytes, *, at: dt.datetime,
                   client: ConfigurationClient | None = None) -> AnchorCheck:
    """:func:`check_anchor`, then replace ``DIR/anchor.xml`` atomically (a running node follows it)."""
    check = check_anchor(directory, data, at=at, client=client)
    if not check.unchanged:
        keep_replaced_anchor(directory, at=at)
        write_atomic(directory / ANCHOR_FILE, bytes(data), mode=0o644, sync_directory=True)
    return check


def keep_replaced_anchor(directory: Path, *, at: dt.datetime) -> Path | None:
    """Copy the installed ``anchor.xml`` into ``DIR/anchor-history/`` before it is replaced.

    ``anchors.json`` lists each kept anchor: file, SHA-224 fingerprint, installed (the
    previous replacement, else the file's modification time) and replaced (``at``).
    """
    current = directory / ANCHOR_FILE
    if not current.is_file():
        return None
    raw = current.read_bytes()
    history = directory / ANCHOR_HISTORY
    history.mkdir(exist_ok=True)
    index = history / "anchors.json"
    entries = json.loads(index.read_bytes()) if index.is_file() else []
    installed = entries[-1]["replaced"] if entries else dt.datetime.fromtimestamp(
        current.stat().st_mtime, dt.timezone.utc).isoformat()
    fingerprint = anchor_fingerprint(raw)
    kept = history / f"{at.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}-{fingerprint.replace(':', '')[:16]}.xml"
    write_atomic(kept, raw, mode=0o644)
    entries.append({"file": kept.name, "fingerprint": fingerprint, "installed": installed,
                    "replaced": at.astimezone(dt.timezone.utc).isoformat()})
    write_atomic(index, json.dumps(entries, indent=2).encode(), mode=0o644, sync_directory=True)
    return kept


def anchor_history(directory: Path) -> list[str]:
    """One line per anchor this gateway replaced (in force from .. to, fingerprint, file), then the current one."""
    index = directory / ANCHOR_HISTORY / "anchors.json"
    entries = json.loads(index.read_bytes()) if index.is_file() else []
    lines = [f"{e['installed']} .. {e['replaced']}  {e['fingerprint']}  {directory / ANCHOR_HISTORY / e['file']}"
             for e in entries]
    since = entries[-1]["replaced"] if entries else "installation"
    return lines + [f"{since} .. now  {anchor_fingerprint((directory / ANCHOR_FILE).read_bytes())}  "
                    f"{directory / ANCHOR_FILE}"]


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "no reason given"
    return line if len(line) <= 400 else line[:397] + "..."
