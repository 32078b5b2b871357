"""What an adapter tells its consumers: WSDL, XML schema and OpenAPI descriptions.

Built from a definition; the X-Road schemas they import are :mod:`trust.protocol`'s,
served by the adapter itself (government networks often have no internet).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._openapi import build_openapi
    from ._schema import json_to_xml, undeclared_attribute, validation_schema, xml_safe, xml_to_json
    from ._wsdl import (
        IDENTIFIERS_XSD, SCHEMA_FILES, XML_XSD, XROAD_XSD, build_wsdl, schema_bytes, served_schema,
    )

__all__ = [
    "IDENTIFIERS_XSD",
    "SCHEMA_FILES",
    "XML_XSD",
    "XROAD_XSD",
    "build_openapi",
    "build_wsdl",
    "json_to_xml",
    "schema_bytes",
    "served_schema",
    "undeclared_attribute",
    "validation_schema",
    "xml_safe",
    "xml_to_json",
]

__getattr__, __dir__ = attach(__name__, {
    "IDENTIFIERS_XSD": "._wsdl",
    "SCHEMA_FILES": "._wsdl",
    "XML_XSD": "._wsdl",
    "XROAD_XSD": "._wsdl",
    "build_openapi": "._openapi",
    "build_wsdl": "._wsdl",
    "json_to_xml": "._schema",
    "schema_bytes": "._wsdl",
    "served_schema": "._wsdl",
    "undeclared_attribute": "._schema",
    "validation_schema": "._schema",
    "xml_safe": "._schema",
    "xml_to_json": "._schema",
})
