"""Adapter definitions: the YAML file that says how a legacy system becomes a service.

Loading and checking a definition (with line-precise errors), its model, and the
request/response mappings (XSLT or Python hooks).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trust.infra import attach

if TYPE_CHECKING:
    from ._fields import DefinitionError
    from ._load import (
        Backend, Consumer, FieldSpec, Operation, SignatureCheck, TlsSettings, load_definition,
        parse_definition,
    )
    from ._mapping import MappingError, apply_mapping
    from ._model import AdapterDefinition

__all__ = [
    "AdapterDefinition",
    "Backend",
    "Consumer",
    "DefinitionError",
    "FieldSpec",
    "MappingError",
    "Operation",
    "SignatureCheck",
    "TlsSettings",
    "apply_mapping",
    "load_definition",
    "parse_definition",
]

__getattr__, __dir__ = attach(__name__, {
    "AdapterDefinition": "._model",
    "Backend": "._load",
    "Consumer": "._load",
    "DefinitionError": "._fields",
    "FieldSpec": "._load",
    "MappingError": "._mapping",
    "Operation": "._load",
    "SignatureCheck": "._load",
    "TlsSettings": "._load",
    "apply_mapping": "._mapping",
    "load_definition": "._load",
    "parse_definition": "._load",
})
