"""The conformance report as Markdown and HTML, and the summary table of docs/conformance.md.

Both formats are written from the same rows (:func:`area_rows`, :func:`summary_rows`) so
they always say the same thing; the HTML escapes every value, since observed outcomes
carry text from X-Road's files and from exceptions.
"""

from __future__ import annotations

import html
from collections import Counter
from typing import Any

from .areas import AREAS
from .run import Meta

OUTCOMES = ("passed", "failed", "skipped")


def _by_area(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key in AREAS}
    for record in records:
        grouped.setdefault(record["area"], []).append(record)
    return grouped


def area_note(records: list[dict[str, Any]], selected: bool) -> str:
    """One line under an area's title: why it has nothing to show, or why all of it was skipped."""
    if not selected:
        return "skipped: this area was not selected (--area)"
    if not records:
        return "skipped: no check of this area was collected"
    reasons = Counter(r["observed"] for r in records if r["outcome"] == "skipped")
    if len(reasons) == 1 and all(r["outcome"] == "skipped" for r in records):
        return f"skipped: all {len(records)} checks: {next(iter(reasons))}"
    return "; ".join(f"skipped: {count} of {len(records)} checks: {reason}" for reason, count in reasons.most_common())


def summary_rows(records: list[dict[str, Any]], areas: list[str]) -> list[list[str]]:
    """Per area: title, what is supported, checks, passed, failed, skipped."""
    rows = []
    for key, found in _by_area(records).items():
        counts = Counter(r["outcome"] for r in found)
        title = AREAS[key].title if key in AREAS else key
        selected = not areas or key in areas
        rows.append([title, AREAS[key].supported if key in AREAS else "", str(len(found)),
                     *(str(counts[o]) for o in OUTCOMES), area_note(found, selected)])
    return rows


def area_rows(records: list[dict[str, Any]]) -> list[list[str]]:
    """One row per check: the test (and case), vector, expected, observed, outcome."""
    return [[r["test"], r["vector"], r["expected"], r["observed"], r["outcome"]] for r in records]


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _md_table(head: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in rows]
    return lines


def _header(meta: Meta) -> list[tuple[str, str]]:
    vectors = meta.vectors if meta.vectors_present else f"missing at {meta.vectors}"
    if meta.vectors_changed:
        vectors += f"; {len(meta.vectors_changed)} files are not X-Road's: " + ", ".join(meta.vectors_changed)
    return [("sild", f"{meta.sild_version}" + (f" (commit {meta.sild_commit})" if meta.sild_commit else "")),
            ("X-Road commit of the vectors", f"{meta.xroad_commit} (from {meta.xroad_commit_source})"),
            ("X-Road vectors", vectors),
            *((f"peer {name}", value) for name, value in meta.peers.items()),
            ("generated", meta.generated)]


SUMMARY_HEAD = ["area", "supported", "checks", "passed", "failed", "skipped", "note"]
CHECK_HEAD = ["check", "vector", "expected", "observed", "outcome"]


def markdown(meta: Meta, records: list[dict[str, Any]]) -> str:
    """The report as one Markdown page."""
    lines = ["# sild conformance report", ""]
    lines += [f"* **{name}**: {_md(value)}" for name, value in _header(meta)]
    lines += ["", "## Summary", "", *_md_table(SUMMARY_HEAD, summary_rows(records, meta.areas))]
    for key, found in _by_area(records).items():
        title = AREAS[key].title if key in AREAS else key
        lines += ["", f"## {title}", ""]
        note = area_note(found, not meta.areas or key in meta.areas)
        lines += [note, ""] if note else []
        if found:
            lines += _md_table(CHECK_HEAD, area_rows(found))
    return "\n".join(lines) + "\n"


_STYLE = ("body{font-family:sans-serif;margin:2em;max-width:90em}table{border-collapse:collapse;margin:1em 0}"
          "td,th{border:1px solid #bbb;padding:.3em .5em;vertical-align:top;font-size:90%}"
          "th{background:#eee}.passed{background:#dfd}.failed{background:#fcc}.skipped{background:#ffd}"
          "code{word-break:break-all}")


def _html_table(head: list[str], rows: list[list[str]], outcome_column: int | None,
                links: list[str] | None = None) -> str:
    """A table of escaped cells; ``links`` make each row's first cell a link to that anchor."""
    out = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for number, row in enumerate(rows):
        css = f' class="{html.escape(row[outcome_column])}"' if outcome_column is not None else ""
        cells = [html.escape(str(cell)) for cell in row]
        if links is not None:
            cells[0] = f'<a href="#{html.escape(links[number])}">{cells[0]}</a>'
        out.append(f"<tr{css}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return "\n".join(out + ["</table>"])


def html_page(meta: Meta, records: list[dict[str, Any]]) -> str:
    """The report as one self-contained HTML page (no script, no external asset)."""
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             "<title>sild conformance report</title>", f"<style>{_STYLE}</style></head><body>",
             "<h1>sild conformance report</h1>", "<dl>"]
    parts += [f"<dt>{html.escape(name)}</dt><dd>{html.escape(value)}</dd>" for name, value in _header(meta)]
    parts += ["</dl>", "<h2>Summary</h2>", _html_table(SUMMARY_HEAD, summary_rows(records, meta.areas), None,
                                                             list(_by_area(records)))]
    for key, found in _by_area(records).items():
        title = AREAS[key].title if key in AREAS else key
        parts.append(f'<h2 id="{html.escape(key)}">{html.escape(title)}</h2>')
        note = area_note(found, not meta.areas or key in meta.areas)
        if note:
            parts.append(f"<p>{html.escape(note)}</p>")
        if found:
            parts.append(_html_table(CHECK_HEAD, area_rows(found), 4))
    return "\n".join(parts + ["</body></html>"]) + "\n"


def docs_table(catalogue: list[dict[str, Any]]) -> str:
    """docs/conformance.md's summary: per area, what is supported and the checks that prove it.

    Built from the marked tests (:func:`~.run.catalogue`), not from one run's outcomes,
    which depend on the machine (vectors, peers): those are in the generated report.
    """
    rows = []
    for key, found in _by_area(catalogue).items():
        files = sorted({f["function"].split("::")[0] for f in found})
        vectors = sorted({f["vector_pattern"] for f in found if f["vector_pattern"]})
        peers = sorted({p for f in found for p in str(f["peer"]).split()})
        rows.append([AREAS[key].title, AREAS[key].supported, str(len(found)),
                     ", ".join(f"`{f}`" for f in files) or "-",
                     ", ".join(f"`{v}`" for v in vectors) or "-", ", ".join(peers) or "-"])
    head = ["area", "supported", "checks", "tests", "X-Road vectors", "independent peers"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
