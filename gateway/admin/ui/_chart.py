"""Operational-monitoring figures for the traffic page: buckets, latency percentiles, and an SVG bar chart.

Drawn on the server as inline SVG: no chart library to ship, nothing for the browser
to run, readable with scripts off, and accessible (a title and a description name
what the bars show; the same figures stand in a table beside the chart). Pure
functions over the records ``GET /api/v1/opmonitoring/records`` returns, so each is
tested on plain values.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, MARGIN = 720, 220, 36


@dataclass(frozen=True)
class Bucket:
    """One interval of the chart: its start (unix seconds), its label, requests and failures in it."""

    start: int
    label: str
    requests: int
    failures: int


@dataclass(frozen=True)
class ServiceFigures:
    """One service's requests, failures and latency percentiles (milliseconds; ``None`` without durations)."""

    service: str
    requests: int
    failures: int
    p50: int | None
    p95: int | None
    p99: int | None


def service_name(record: Mapping[str, Any]) -> str:
    parts = [record.get(k) for k in ("serviceMemberCode", "serviceSubsystemCode", "serviceCode")]
    return "/".join(str(p) for p in parts if p) or "(unknown)"


def failed(record: Mapping[str, Any]) -> bool:
    return record.get("succeeded") is False


def buckets(records: Iterable[Mapping[str, Any]], start: int, end: int, count: int,
            label: Any = None) -> list[Bucket]:
    """``count`` equal intervals from ``start`` to ``end`` (unix seconds) with the records counted in each."""
    size = max(1, math.ceil((end - start) / count))
    totals, failures = [0] * count, [0] * count
    for record in records:
        at = record.get("monitoringDataTs")
        if isinstance(at, int) and start <= at < start + size * count:
            index = (at - start) // size
            totals[index] += 1
            failures[index] += failed(record)
    name = label or (lambda t: str(t))
    return [Bucket(start + i * size, name(start + i * size), totals[i], failures[i]) for i in range(count)]


def percentile(values: Sequence[int], share: float) -> int | None:
    """The nearest-rank percentile of ``values`` (``share`` from 0 to 1); ``None`` for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def per_service(records: Iterable[Mapping[str, Any]]) -> list[ServiceFigures]:
    """Requests, failures and latency percentiles of each service, busiest first."""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    for record in records:
        grouped.setdefault(service_name(record), []).append(record)
    out = []
    for name, group in grouped.items():
        durations = [r["responseOutTs"] - r["requestInTs"] for r in group
                     if isinstance(r.get("responseOutTs"), int) and isinstance(r.get("requestInTs"), int)]
        out.append(ServiceFigures(name, len(group), sum(failed(r) for r in group), percentile(durations, .5),
                                  percentile(durations, .95), percentile(durations, .99)))
    return sorted(out, key=lambda f: (-f.requests, f.service))


def bar_chart(data: Sequence[Bucket], title: str) -> str:
    """An SVG chart of requests (blue) and failures (red) per bucket, with axis labels; markup to embed."""
    top = max([b.requests for b in data] + [1])
    inner_w, inner_h = WIDTH - 2 * MARGIN, HEIGHT - 2 * MARGIN
    slot = inner_w / max(1, len(data))
    parts = [f'<svg class="chart" role="img" aria-labelledby="chart-t chart-d" viewBox="0 0 {WIDTH} {HEIGHT}" '
             f'width="100%" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-t">{html.escape(title)}</title>',
             f'<desc id="chart-d">{html.escape(_describe(data))}</desc>',
             f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" y2="{HEIGHT - MARGIN}" '
             f'stroke="#4a5360"/>',
             f'<text x="{MARGIN - 6}" y="{MARGIN + 4}" text-anchor="end">{top}</text>',
             f'<text x="{MARGIN - 6}" y="{HEIGHT - MARGIN}" text-anchor="end">0</text>']
    every = max(1, len(data) // 8)
    for i, bucket in enumerate(data):
        x = MARGIN + i * slot
        for value, colour, offset in ((bucket.requests, "#0a4f8a", 0.1), (bucket.failures, "#b3261e", 0.5)):
            h = inner_h * value / top
            parts.append(f'<rect x="{x + slot * offset:.1f}" y="{HEIGHT - MARGIN - h:.1f}" width="{slot * 0.4:.1f}" '
                         f'height="{h:.1f}" fill="{colour}"><title>{html.escape(bucket.label)}: {value} '
                         f'{"requests" if offset < 0.5 else "failed"}</title></rect>')
        if i % every == 0:
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{HEIGHT - MARGIN + 16}" text-anchor="middle">'
                         f'{html.escape(bucket.label)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _describe(data: Sequence[Bucket]) -> str:
    total, failures = sum(b.requests for b in data), sum(b.failures for b in data)
    busiest = max(data, key=lambda b: b.requests, default=None)
    peak = f"; busiest {busiest.label} with {busiest.requests}" if busiest and busiest.requests else ""
    return f"{total} requests and {failures} failures in {len(data)} intervals{peak}."
