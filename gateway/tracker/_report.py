"""What the data subject reads: the tracker's entries as text lines and as a printable page.

The page ("Your data in <owner>: who looked, when, why") is meant to be printed or
shown by the data owner's citizen portal, so it is one self-contained HTML document
(no scripts, no external resources) with every value escaped: a subject, a ``userId``
or an ``issue`` is whatever a client sent and must show as text, never as markup.
Each line names its evidence: the exchange's message id and message-log record, and
the commands with which the data owner exports the signed, timestamped request and
verifies it (``sild gateway log export``, ``sild asic verify``).
"""

from __future__ import annotations

import html
from typing import Sequence

from ._store import TrackedEntry

_STYLE = """body{font-family:sans-serif;margin:2em;color:#111}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #999;padding:.3em .5em;text-align:left;
vertical-align:top;font-size:.9em}th{background:#eee}code{font-size:.85em}
@media print{body{margin:0}}"""


def evidence_hint(entry: TrackedEntry, directory: str = "DIR") -> str:
    """How the data owner gets and checks the evidence of one entry."""
    record = f"message-log record {entry.log_record_id}, " if entry.log_record_id is not None else ""
    qid = entry.query_id
    return (f"{record}exchange {qid}: .venv/bin/sild gateway log export {directory} --query-id {qid} "
            f"--out evidence.asice; .venv/bin/sild asic verify evidence.asice --conf {directory}/conf")


def text_lines(subject: str, entries: Sequence[TrackedEntry], directory: str = "DIR") -> list[str]:
    """``sild gateway tracker``'s output: one line per exchange, then its evidence."""
    if not entries:
        return [f"no recorded exchange on the data of {subject}"]
    lines = [f"{len(entries)} exchange(s) on the data of {subject}:"]
    for e in entries:
        why = ", ".join(x for x in (f"purpose {e.purpose}" if e.purpose else "",
                                    f"issue {e.issue!r}" if e.issue else "") if x) or "no reason given"
        who = e.client + (f" (user {e.user_id})" if e.user_id else "")
        lines.append(f"{e.seen_at.isoformat(timespec='seconds')}  {who} read {e.service}: {why}")
        lines.append(f"    evidence: {evidence_hint(e, directory)}")
    return lines


def html_report(subject: str, owner: str, entries: Sequence[TrackedEntry], directory: str = "DIR") -> str:
    """The printable report for ``subject`` at data owner ``owner``; every value escaped."""
    esc = html.escape
    title = f"Your data in the {owner}: who looked, when, why"
    rows = []
    for e in entries:
        rows.append(
            "<tr>"
            f"<td>{esc(e.seen_at.isoformat(timespec='seconds'))}</td>"
            f"<td>{esc(e.client)}{'<br>user ' + esc(e.user_id) if e.user_id else ''}</td>"
            f"<td>{esc(e.service)}</td>"
            f"<td>{esc(e.purpose or '')}</td>"
            f"<td>{esc(e.issue or '')}</td>"
            f"<td><code>{esc(evidence_hint(e, directory))}</code></td>"
            "</tr>")
    body = ("<table><thead><tr><th>When (UTC)</th><th>Who</th><th>What</th><th>Purpose</th><th>Issue</th>"
            "<th>Evidence</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>") if rows else \
        "<p>No organisation has read your data through this gateway.</p>"
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{_STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1><p>Data subject: <strong>{esc(subject)}</strong>. "
            f"{len(entries)} exchange(s) recorded.</p>{body}"
            "<p>Each line names its evidence: the signed and timestamped request in the data owner's "
            "message log, which the data owner can export and verify.</p></body></html>\n")
