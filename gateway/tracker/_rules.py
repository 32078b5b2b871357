"""The data owner's declarations: where a service's requests name their data subject.

A data tracker is only as good as its idea of *whose* data a request touched, and only
the data owner knows that: a REST path segment (``/persons/{subject}``), a query
parameter, a header, or an element of the SOAP body. The owner declares one
:class:`SubjectRule` per service (provider subsystem + service code, every version);
the rules live in the server configuration (table ``tracker_rule``) so a cluster's
nodes share them and every change goes through the audit log with the rest of the
configuration. A rule is checked when declared (an XPath compiles, a template has one
placeholder), so a mistake shows at the CLI or API, not later on the hot path.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from lxml import etree
from sqlalchemy import delete, select

from trust.protocol import ClientId

from gateway.db import schema as m
from gateway.serverconf import InvalidInput, NotFound, ServerConf, parse_client_text

SOURCES = ("path", "query", "header", "xpath")
MAX_EXPRESSION = 512  # an XPath or template longer than this is a mistake, not a need
_PLACEHOLDER = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_-]*)\}$")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,100}$")


@dataclass(frozen=True)
class SubjectRule:
    """Where the data subject of a request to ``provider``'s service ``service_code`` is."""

    provider: ClientId
    service_code: str
    source: str  # path | query | header | xpath
    expression: str  # a path template, a parameter or header name, or an XPath
    namespaces: dict[str, str] = field(default_factory=dict)  # XPath prefixes
    store_plain: bool = False  # keep the identifier itself instead of its keyed hash
    compiled: etree.XPath | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider.to_text(), "service_code": self.service_code, "source": self.source,
                "expression": self.expression, "namespaces": self.namespaces, "store_plain": self.store_plain}


def make_rule(provider: ClientId, service_code: str, source: str, expression: str,
              namespaces: dict[str, str] | None = None, store_plain: bool = False) -> SubjectRule:
    """A checked rule: bad input raises :class:`InvalidInput` with the one thing that is wrong."""
    ns = dict(namespaces or {})
    if source not in SOURCES:
        raise InvalidInput(f"subject source must be one of {', '.join(SOURCES)}, not {source!r}")
    if not service_code or len(service_code) > 255:
        raise InvalidInput("a service code is required (at most 255 characters)")
    if not expression or len(expression) > MAX_EXPRESSION:
        raise InvalidInput(f"the subject expression must have 1 to {MAX_EXPRESSION} characters")
    compiled = None
    if source == "path":
        holes = [s for s in expression.strip("/").split("/") if s.startswith("{")]
        if len(holes) != 1 or not _PLACEHOLDER.match(holes[0]):
            raise InvalidInput(f"a path template names exactly one {{placeholder}} segment, e.g. /persons/{{id}}: "
                               f"{expression!r}")
    elif source in ("query", "header"):
        if not _NAME.match(expression):
            raise InvalidInput(f"not a {source} name: {expression!r}")
    else:
        if ns and not all(isinstance(k, str) and isinstance(v, str) and k and v for k, v in ns.items()):
            raise InvalidInput("XPath namespaces are a map of prefix to namespace URI")
        try:
            compiled = etree.XPath(expression, namespaces=ns or None, smart_strings=False)
        except etree.XPathSyntaxError as exc:
            raise InvalidInput(f"not an XPath expression ({exc}): {expression!r}") from None
    return SubjectRule(provider, service_code, source, expression, ns, store_plain, compiled)


def parse_namespaces(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """``prefix=uri`` items (the CLI's ``--ns``) as a map."""
    out: dict[str, str] = {}
    for item in items:
        prefix, sep, uri = item.partition("=")
        if not sep or not prefix or not uri:
            raise InvalidInput(f"a namespace is prefix=uri, not {item!r}")
        out[prefix] = uri
    return out


def save_rule(conf: ServerConf, rule: SubjectRule) -> None:
    """Declare (or replace) the rule of one service; a configuration change (counter, audit)."""
    provider = rule.provider.to_text()
    with conf.write() as s:
        s.execute(delete(m.TrackerRule).where(m.TrackerRule.provider_id == provider,
                                              m.TrackerRule.service_code == rule.service_code))
        s.add(m.TrackerRule(provider_id=provider, service_code=rule.service_code, source=rule.source,
                            expression=rule.expression, namespaces=json.dumps(rule.namespaces, sort_keys=True),
                            store_plain=rule.store_plain))


def remove_rule(conf: ServerConf, provider: ClientId, service_code: str) -> None:
    with conf.write() as s:
        row = s.execute(select(m.TrackerRule).where(m.TrackerRule.provider_id == provider.to_text(),
                                                    m.TrackerRule.service_code == service_code)).scalar()
        if row is None:
            raise NotFound(f"no subject is declared for {provider.to_text()} {service_code}")
        s.delete(row)


def load_rules(conf: ServerConf) -> list[SubjectRule]:
    """Every declared rule, compiled (rows are checked again: a hand-edited row must not crash a proxy)."""
    with conf.read() as s:
        rows = s.execute(select(m.TrackerRule).order_by(m.TrackerRule.provider_id, m.TrackerRule.service_code)).scalars()
        raw = [(r.provider_id, r.service_code, r.source, r.expression, r.namespaces, r.store_plain) for r in rows]
    return [make_rule(parse_client_text(p), code, source, expr, json.loads(ns or "{}"), plain)
            for p, code, source, expr, ns, plain in raw]
