"""X-Road SOAP headers as an independent client (zeep) writes them, spelled out literally.

Written by hand rather than built from sild's identifiers, so that a test sending them
checks sild against X-Road's field names, not against itself.
"""

from __future__ import annotations

from typing import Any


def tax_asks_vero(query_id: str, user_id: str, issue: str | None = None) -> dict[str, Any]:
    """Headers of EE's tax board calling FI vero's ``getTaxRecord`` v1."""
    headers: dict[str, Any] = {
        "client": {"xRoadInstance": "EE", "memberClass": "GOV", "memberCode": "70000001", "subsystemCode": "tax",
                   "objectType": "SUBSYSTEM"},
        "service": {"xRoadInstance": "FI", "memberClass": "GOV", "memberCode": "0245437-2", "subsystemCode": "vero",
                    "serviceCode": "getTaxRecord", "serviceVersion": "v1", "objectType": "SERVICE"},
        "id": query_id, "userId": user_id, "protocolVersion": "4.0",
    }
    if issue is not None:
        headers["issue"] = issue
    return headers
