"""The data tracker over the admin API: declarations, and one data subject's list.

A subroom of :mod:`gateway.admin` (which holds 15 modules). ``GET
/api/v1/tracker/subjects/{id}`` is what the data owner's citizen portal calls, with an
API key of role ``tracker`` that can read nothing else; declaring where a service's
requests name their subject is configuration (``service-admin``). The room uses the
parent's route helper, configuration and error shape.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._routes import tracker_blueprint

__all__ = [
    "tracker_blueprint",
]

__getattr__, __dir__ = attach(__name__, {
    "tracker_blueprint": "._routes",
})
