"""Adapters: legacy SOAP/XML systems become proper exchange services.

The public API is re-exported here. The Flask edge (``adapters.http_app``) is
deliberately not imported, so ``import adapters`` does not pull in a web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from adapters.consumer import ConsumerAdapter
    from adapters.definition import (
        AdapterDefinition, DefinitionError, MappingError, load_definition, parse_definition,
    )
    from adapters.describe import build_openapi, build_wsdl
    from adapters.errors import AdapterError
    from adapters.provider import ProviderAdapter, SigningMaterial
    from adapters.serving import WsgiServer
    from adapters.soap import AdapterFault
    from adapters.xmldsig import (
        PayloadSignatureError, PayloadSigner, SignatureMode, SignatureTrust, VerifiedPayload, verify_payload,
    )

__all__ = [
    "AdapterDefinition",
    "AdapterError",
    "AdapterFault",
    "ConsumerAdapter",
    "DefinitionError",
    "MappingError",
    "PayloadSignatureError",
    "PayloadSigner",
    "ProviderAdapter",
    "SignatureMode",
    "SignatureTrust",
    "SigningMaterial",
    "VerifiedPayload",
    "WsgiServer",
    "build_openapi",
    "build_wsdl",
    "load_definition",
    "parse_definition",
    "verify_payload",
]

__getattr__, __dir__ = attach(__name__, {
    "AdapterDefinition": "adapters.definition",
    "AdapterError": "adapters.errors",
    "AdapterFault": "adapters.soap",
    "ConsumerAdapter": "adapters.consumer",
    "DefinitionError": "adapters.definition",
    "MappingError": "adapters.definition",
    "PayloadSignatureError": "adapters.xmldsig",
    "PayloadSigner": "adapters.xmldsig",
    "ProviderAdapter": "adapters.provider",
    "SignatureMode": "adapters.xmldsig",
    "SignatureTrust": "adapters.xmldsig",
    "SigningMaterial": "adapters.provider",
    "VerifiedPayload": "adapters.xmldsig",
    "WsgiServer": "adapters.serving",
    "build_openapi": "adapters.describe",
    "build_wsdl": "adapters.describe",
    "load_definition": "adapters.definition",
    "parse_definition": "adapters.definition",
    "verify_payload": "adapters.xmldsig",
})
