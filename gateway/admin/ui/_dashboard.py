"""The dashboard: the diagnostics model (``GET /api/v1/diagnostics``) as one page.

The same report ``sild gateway status`` prints, so the UI, the CLI and the API tell
the same truth: the health verdict with the X-Road code traffic would get, each
instance's configuration (expiry, last download, its error), each own certificate's
OCSP state, timestamping per TSA, maintenance, the message log and the registration.
Traffic of the last hour comes from operational monitoring when the user's roles
may read it.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import ANYONE
from ._web import UiState, api, page, render


def traffic_last_hour(now: float) -> dict[str, Any] | None:
    """Requests and failures of the last hour from operational monitoring; ``None`` if not readable."""
    try:
        answer = api("GET", "/api/v1/opmonitoring/records",
                     query={"records_from": str(int(now) - 3600), "records_to": str(int(now)),
                            "fields": "succeeded", "limit": "10000"})
    except ApiFailure:
        return None
    records = answer.json.get("records", []) if isinstance(answer.json, dict) else []
    failed = sum(1 for r in records if r.get("succeeded") is False)
    return {"requests": len(records), "failed": failed}


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/", ANYONE)
    def dashboard() -> Any:
        error, report = None, None
        try:
            report = api("GET", "/api/v1/diagnostics").json
        except ApiFailure as exc:
            error = exc
        return render(state, "gwui/dashboard.html", "Dashboard", error=error, report=report,
                      traffic=traffic_last_hour(time.time()))
