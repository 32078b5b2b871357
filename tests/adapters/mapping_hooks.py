"""Hooks used by the mapping tests (importable as ``tests.adapters.mapping_hooks``)."""

from __future__ import annotations

from lxml import etree


def stamp_context(element: etree._Element, context: dict[str, str]) -> etree._Element:
    """Record the X-Road context the hook received as attributes of a new child."""
    seen = etree.SubElement(element, "seen")
    for key in ("userId", "client", "issue", "id", "service", "serviceCode", "serviceVersion"):
        seen.set(key, context.get(key, "<missing>"))
    return element


def broken(element: etree._Element, context: dict[str, str]) -> etree._Element:
    raise ZeroDivisionError("a bug in the hook")


def not_an_element(element: etree._Element, context: dict[str, str]) -> str:
    return "text"
