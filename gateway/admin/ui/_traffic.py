"""Traffic: requests and failures over time and latency percentiles per service, from operational monitoring.

Reads ``GET /api/v1/opmonitoring/records`` (the API's ``auditor`` role: the officers
and the observer, :data:`._pages.EVIDENCE`) for the last hours the operator picks and
draws them with :mod:`._chart`. ``service`` narrows the chart to one service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Blueprint, request

from .._config import AdminConfig
from ._api import ApiFailure
from ._chart import bar_chart, buckets, per_service, service_name
from ._pages import EVIDENCE
from ._web import UiState, api, page, render

SPANS = {"1": (1, 12), "6": (6, 24), "24": (24, 24), "168": (168, 28)}  # hours: (span, bars)
MAX_RECORDS = 10000  # what one API call returns at most
FIELDS = "monitoringDataTs,succeeded,requestInTs,responseOutTs,serviceMemberCode,serviceSubsystemCode,serviceCode"


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/traffic", EVIDENCE)
    def traffic() -> Any:
        hours = request.args.get("hours", "24") if request.args.get("hours") in SPANS else "24"
        span, bars = SPANS[hours]
        end = int(state.clock().timestamp()) + 1
        start = end - span * 3600
        error, records = None, []
        try:
            records = api("GET", "/api/v1/opmonitoring/records",
                          query={"records_from": str(start), "records_to": str(end), "fields": FIELDS,
                                 "limit": str(MAX_RECORDS)}).json.get("records", [])
        except ApiFailure as exc:
            error = exc
        service = request.args.get("service", "")
        figures = per_service(records)
        shown = [r for r in records if not service or service_name(r) == service]
        fmt = "%H:%M" if span <= 24 else "%d.%m %H:%M"
        data = buckets(shown, start, end, bars,
                       lambda t: dt.datetime.fromtimestamp(t, dt.timezone.utc).strftime(fmt))
        title = f"Requests and failures per interval, last {span} hours" + (f", {service}" if service else "")
        return render(state, "gwui/traffic.html", "Traffic", status=getattr(error, "status", 200), error=error,
                      chart=bar_chart(data, title), figures=figures, hours=hours, spans=list(SPANS),
                      service=service, data=data, capped=len(records) >= MAX_RECORDS)
