"""Sandbox: the Finnish tax administration (Vero) as a plain XML-over-HTTP service.

``POST`` a ``TaxRecordRequest`` document (``Hetu``, optional ``Year``), get a
``TaxRecordResponse`` document with ``Status`` ``OK`` and a ``TaxRecord``, or
``Status`` ``NOT_FOUND`` for an unknown person or year (a normal answer).
"""

from __future__ import annotations

from lxml import etree

from adapters.sandbox_backends._wsgi import Answer, xml_endpoint
from adapters.sandbox_backends.data import FI_TAX_RECORDS

NS = "urn:fi:vero:verotiedot:legacy"
DEFAULT_YEAR = 2025


def _el(parent: etree._Element, name: str, text: str) -> None:
    etree.SubElement(parent, f"{{{NS}}}{name}").text = text


def tax_answer(hetu: str, year: int) -> bytes:
    root = etree.Element(f"{{{NS}}}TaxRecordResponse", nsmap={None: NS})  # type: ignore[dict-item]
    record = FI_TAX_RECORDS.get(hetu)
    figures = record["years"].get(year) if record else None
    if record is None or figures is None:
        _el(root, "Status", "NOT_FOUND")
        return etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    _el(root, "Status", "OK")
    tax = etree.SubElement(root, f"{{{NS}}}TaxRecord")
    _el(tax, "Hetu", hetu)
    _el(tax, "Name", record["name"])
    _el(tax, "Municipality", record["municipality"])
    _el(tax, "TaxYear", str(year))
    _el(tax, "EarnedIncome", figures["earned"])
    _el(tax, "CapitalIncome", figures["capital"])
    _el(tax, "TaxRate", figures["rate"])
    _el(tax, "TaxesPaid", figures["paid"])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _error(text: str) -> bytes:
    root = etree.Element(f"{{{NS}}}Error", nsmap={None: NS})  # type: ignore[dict-item]
    root.text = text
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _answer(request: etree._Element) -> Answer:
    hetu = (request.findtext(f"{{{NS}}}Hetu") or "").strip().upper()
    year_text = (request.findtext(f"{{{NS}}}Year") or "").strip()
    if request.tag != f"{{{NS}}}TaxRecordRequest" or not hetu:
        return "400 Bad Request", _error("TaxRecordRequest with Hetu expected")
    try:
        year = int(year_text) if year_text else DEFAULT_YEAR
    except ValueError:
        return "400 Bad Request", _error("Year must be a number")
    return "200 OK", tax_answer(hetu, year)


app = xml_endpoint(banner=b"vero legacy XML endpoint\n", content_type="application/xml; charset=utf-8",
                   what="tax record request", malformed=("400 Bad Request", _error("malformed request")),
                   answer=_answer)
"""The WSGI app of the legacy tax record service."""
