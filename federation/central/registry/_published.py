"""The published configuration generations in the registry: what every authority node serves.

Why: two ``sild central serve`` nodes on one registry must serve the same signed
configuration (see :class:`~federation.central.registry._models.PublishedGenerationRow`
for why it cannot be made twice). The node that holds the generation lease
(:class:`trust.infra.Lease`) stores each new generation here in one transaction,
before it writes the files; every node then copies the newest stored generation into
its own ``public/`` folder (:func:`federation.central.sync_published`). The database
is the one place the nodes share, and with streaming replication the published
generation survives a fail-over with the registry it was made from.

Reading the newest generation's *state* (a few hundred bytes) is what every node does
on every tick; the parts (the signed directories and the parameter files, up to a few
MB for a large instance) are read only when a node lacks that generation.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from ._models import PublishedGenerationRow
from ._registry import Registry


@dataclass(frozen=True)
class StoredGeneration:
    """One generation as published: its folder, its state (``generation.json``) and its bytes."""

    folder: str
    version: int
    state: Mapping[str, object]
    files: Mapping[str, bytes]  # the parameter files of ``V<version>/<folder>/``
    directories: Mapping[str, bytes]  # internalconf, externalconf


def _encode(parts: Mapping[str, bytes]) -> dict[str, str]:
    return {name: base64.b64encode(data).decode("ascii") for name, data in parts.items()}


def _decode(parts: Mapping[str, str]) -> dict[str, bytes]:
    return {str(name): base64.b64decode(data, validate=True) for name, data in parts.items()}


def store_generation(registry: Registry, generation: StoredGeneration, *, keep: int) -> None:
    """Store ``generation`` and keep only the newest ``keep`` ones, in one transaction."""
    state = dict(generation.state)
    parts = json.dumps({"files": _encode(generation.files), "directories": _encode(generation.directories)})
    with registry._session() as s:
        s.add(PublishedGenerationRow(
            folder=generation.folder, version=generation.version, serial=int(str(state["serial"])),
            generated_at=dt.datetime.fromisoformat(str(state["generatedAt"])),
            state=json.dumps(state, sort_keys=True), parts=parts.encode("ascii"),
        ))
        s.flush()
        kept = select(PublishedGenerationRow.folder).order_by(PublishedGenerationRow.folder.desc()).limit(keep)
        s.execute(delete(PublishedGenerationRow).where(PublishedGenerationRow.folder.not_in(kept.scalar_subquery()))
                  if keep > 0 else delete(PublishedGenerationRow))


def latest_state(registry: Registry) -> dict[str, object] | None:
    """The state of the newest stored generation (what ``generation.json`` says), or None if none is stored."""
    with registry._session() as s:
        text = s.scalar(select(PublishedGenerationRow.state).order_by(PublishedGenerationRow.folder.desc()).limit(1))
    if text is None:
        return None
    data = json.loads(text)
    return data if isinstance(data, dict) else None


def load_generation(registry: Registry, folder: str) -> StoredGeneration | None:
    """The stored generation ``folder`` with its bytes, or None if it is no longer stored."""
    with registry._session() as s:
        row = s.get(PublishedGenerationRow, folder)
        if row is None:
            return None
        state, parts, version = json.loads(row.state), json.loads(row.parts), row.version
    return StoredGeneration(folder, version, state, _decode(parts["files"]), _decode(parts["directories"]))
