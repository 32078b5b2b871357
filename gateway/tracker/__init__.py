"""The data tracker: "who looked at my data", on the data owner's gateway (issue 20, part 1).

The data owner declares per service where a request names its data subject
(:func:`make_rule`, stored by :func:`save_rule`); the server proxy hands every served
exchange to :meth:`Tracker.observe` once it is on record; the subject's list is read
by the admin API (role ``tracker``), ``sild gateway tracker`` and rendered by
:func:`html_report`. docs/tracker.md tells the story.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._extract import ExtractionFailed, SeenRequest, extract_subject
    from ._report import evidence_hint, html_report, text_lines
    from ._rules import SOURCES, SubjectRule, load_rules, make_rule, parse_namespaces, remove_rule, save_rule
    from ._store import KEY_FILE, TrackedEntry, Tracker

__all__ = [
    "ExtractionFailed",
    "KEY_FILE",
    "SOURCES",
    "SeenRequest",
    "SubjectRule",
    "TrackedEntry",
    "Tracker",
    "evidence_hint",
    "extract_subject",
    "html_report",
    "load_rules",
    "make_rule",
    "parse_namespaces",
    "remove_rule",
    "save_rule",
    "text_lines",
]

__getattr__, __dir__ = attach(__name__, {
    "ExtractionFailed": "._extract",
    "KEY_FILE": "._store",
    "SOURCES": "._rules",
    "SeenRequest": "._extract",
    "SubjectRule": "._rules",
    "TrackedEntry": "._store",
    "Tracker": "._store",
    "evidence_hint": "._report",
    "extract_subject": "._extract",
    "html_report": "._report",
    "load_rules": "._rules",
    "make_rule": "._rules",
    "parse_namespaces": "._rules",
    "remove_rule": "._rules",
    "save_rule": "._rules",
    "text_lines": "._report",
})
