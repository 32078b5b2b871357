"""``sild conformance``: the conformance report, run from a source checkout."""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._command import conformance_group, project_root

__all__ = [
    "conformance_group",
    "project_root",
]

__getattr__, __dir__ = attach(__name__, {
    "conformance_group": "._command",
    "project_root": "._command",
})
