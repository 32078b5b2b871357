"""Adapters: legacy SOAP/XML systems become proper exchange services.

The public API is re-exported here. The Flask edge (``adapters.http_app``) is
deliberately not imported, so ``import adapters`` does not pull in a web framework.
"""

from .consumer import ConsumerAdapter
from .definition import load_definition, parse_definition
from .errors import AdapterError
from .mapping import MappingError
from .model import AdapterDefinition
from .openapi import build_openapi
from .provider import ProviderAdapter, SigningMaterial
from .serving import WsgiServer
from .soap import AdapterFault
from .wsdl import build_wsdl
from .xmldsig import PayloadSignatureError, PayloadSigner, SignatureMode, SignatureTrust, VerifiedPayload, verify_payload
from .yamlfields import DefinitionError

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
