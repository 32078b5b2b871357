"""Evidence: the message log (search, ASiC-E download) and the audit log of administrative actions.

Both read the API (``/api/v1/messagelog/records`` and ``/export``, ``/api/v1/audit``),
which needs the API's ``auditor`` role: the officers and the observer have it through
the UI (:data:`._pages.EVIDENCE`). A downloaded container is the one
``sild gateway log export`` writes and ``sild asic verify`` accepts. Both tables page
backwards by id ("older"), as the API does, so a page stays stable while traffic
adds records.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from flask import Blueprint, Response, request

from trust.accounts import matching

from .._config import AdminConfig
from ._api import ApiFailure
from ._pages import EVIDENCE
from ._web import UiState, api, page, render

SEARCH_FIELDS = ("query_id", "client", "service", "since", "until")
PAGE = 50


def _older(args: dict[str, str], next_before: int | None) -> str | None:
    if next_before is None:
        return None
    return "?" + urllib.parse.urlencode({**args, "before": str(next_before)})


def register(bp: Blueprint, state: UiState, config: AdminConfig) -> None:
    @page(bp, state, "/messagelog", EVIDENCE)
    def messagelog() -> Any:
        criteria = {k: request.args.get(k, "").strip() for k in SEARCH_FIELDS}
        wanted = {k: v for k, v in criteria.items() if v}
        error, records, older = None, [], None
        if wanted or "search" in request.args:
            query = {**wanted, "limit": str(PAGE)}
            if request.args.get("before", "").isdigit():
                query["before"] = request.args["before"]
            try:
                answer = api("GET", "/api/v1/messagelog/records", query=query).json
                records, older = answer["records"], _older({**wanted, "search": "1"}, answer["next_before"])
            except ApiFailure as exc:
                error = exc
        return render(state, "gwui/messagelog.html", "Message log", status=getattr(error, "status", 200),
                      error=error, criteria=criteria, records=records, older=older,
                      searched=bool(wanted) or "search" in request.args)

    @page(bp, state, "/messagelog/export", EVIDENCE)
    def export() -> Any:
        query = {"query_id": request.args.get("query_id", ""), "direction": request.args.get("direction", "request")}
        try:
            answer = api("GET", "/api/v1/messagelog/export", query=query)
        except ApiFailure as exc:
            return render(state, "gwui/messagelog.html", "Message log", status=exc.status, error=exc,
                          criteria={"query_id": query["query_id"]}, records=[], older=None, searched=False)
        return Response(answer.data, content_type=answer.headers.get("Content-Type"),
                        headers={"Content-Disposition": answer.headers.get("Content-Disposition", "attachment")})

    @page(bp, state, "/audit", EVIDENCE)
    def audit() -> Any:
        query = {"limit": str(PAGE)}
        for name in ("since", "before"):
            if request.args.get(name):
                query[name] = request.args[name]
        error, entries, older = None, [], None
        try:
            answer = api("GET", "/api/v1/audit", query=query).json
            entries = answer["entries"]
            kept = {k: v for k, v in request.args.items() if k in ("since", "q")}
            older = _older(kept, answer["next_before"])
        except ApiFailure as exc:
            error = exc
        text = request.args.get("q", "")
        shown = matching(entries, text, lambda e: f"{e['channel']} {e['actor']} {e['operation']} {e['outcome']} "
                                                  f"{e['source']}")
        return render(state, "gwui/audit.html", "Audit log", status=getattr(error, "status", 200), error=error,
                      entries=shown, older=older, query=text, since=request.args.get("since", ""))
