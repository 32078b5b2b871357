"""Python mapping hooks of the sandbox adapters (what XSLT 1.0 cannot do well)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from lxml import etree


def vero_total_income(element: etree._Element, context: dict[str, str]) -> etree._Element:
    """Insert ``totalIncome`` = earned + capital income, added exactly (XSLT 1.0 sums in floats)."""
    ns = etree.QName(element).namespace
    record = element.find(f"{{{ns}}}taxRecord")
    if record is None:
        return element
    try:
        earned = Decimal(record.findtext(f"{{{ns}}}earnedIncome") or "0")
        capital = Decimal(record.findtext(f"{{{ns}}}capitalIncome") or "0")
    except InvalidOperation:
        return element  # the response schema check reports the bad figure
    capital_el = record.find(f"{{{ns}}}capitalIncome")
    total = etree.Element(f"{{{ns}}}totalIncome")
    total.text = str(earned + capital)
    if capital_el is not None:
        capital_el.addnext(total)
    return element
