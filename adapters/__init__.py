"""Adapters: legacy SOAP/XML systems become proper exchange services.

The public API is re-exported here. The Flask edge (``adapters.http_app``) is
deliberately not imported, so ``import adapters`` does not pull in a web framework.
"""

from adapters.consumer import ConsumerAdapter
from adapters.definition._load import load_definition, parse_definition
from adapters.errors import AdapterError
from adapters.definition._mapping import MappingError
from adapters.definition._model import AdapterDefinition
from adapters.describe._openapi import build_openapi
from adapters.provider import ProviderAdapter, SigningMaterial
from adapters.serving import WsgiServer
from adapters.soap import AdapterFault
from adapters.describe._wsdl import build_wsdl
from adapters.xmldsig import PayloadSignatureError, PayloadSigner, SignatureMode, SignatureTrust, VerifiedPayload, verify_payload
from adapters.definition._fields import DefinitionError

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
