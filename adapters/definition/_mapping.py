"""Request and response mapping: a sandboxed XSLT, then an optional Python hook.

XSLT covers renaming, restructuring and namespace changes between an X-Road
document/literal payload and whatever the legacy system speaks. It runs sandboxed:
libxslt's security preferences forbid reading or writing files and the network
(so ``document()``, ``xsl:import``/``xsl:include`` and ``exsl:document`` fail), and
no Python extension functions are registered. Whatever XSLT cannot do (look-ups,
arithmetic on dates, calling a library) goes into a hook: a function named by
dotted path, ``package.module:function``, called as
``hook(element, context) -> element``.

Both see the X-Road context of the call: ``userId``, ``client``, ``issue``, ``id``,
``service``, ``serviceCode`` and ``serviceVersion`` arrive as XSLT string
parameters (``<xsl:param name="userId"/>``) and as the ``context`` dict of a hook,
so a legacy system that needs to know who asks can be told.
"""

from __future__ import annotations

import functools
import importlib
import threading
from pathlib import Path
from typing import Any, Callable

from lxml import etree

from trust.infra import parse_xml

from ._load import Mapping
from adapters.errors import AdapterError

Hook = Callable[[etree._Element, dict[str, str]], Any]

_ACCESS = etree.XSLTAccessControl(  # type: ignore[call-arg]
    read_file=False, write_file=False, create_dir=False, read_network=False, write_network=False
)
_XSL_NS = "http://www.w3.org/1999/XSL/Transform"


class MappingError(AdapterError):
    """A mapping could not be loaded or failed on a message."""

    code = "adapters.mapping.failed"


@functools.lru_cache(maxsize=1024)
def _compile_cached(path: str, mtime_ns: int, thread: int) -> etree.XSLT:
    data = Path(path).read_bytes()
    try:
        doc = parse_xml(data, what=f"stylesheet {Path(path).name}")
    except AdapterError:
        raise
    except Exception as exc:
        raise MappingError(f"stylesheet {Path(path).name} is not acceptable XML: {exc}") from exc
    for tag in ("import", "include"):
        if doc.find(f".//{{{_XSL_NS}}}{tag}") is not None:
            raise MappingError(f"stylesheet {Path(path).name} uses xsl:{tag}; adapters allow self-contained stylesheets only")
    try:
        return etree.XSLT(doc, access_control=_ACCESS)
    except etree.XSLTParseError as exc:
        raise MappingError(f"stylesheet {Path(path).name} does not compile: {exc}") from exc


def compile_xslt(path: Path) -> etree.XSLT:
    """Compile a stylesheet once per thread and file version, sandboxed.

    Per thread because a compiled stylesheet carries libxslt state (its error log,
    its document dictionary) that concurrent requests must not share.
    """
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise MappingError(f"cannot read stylesheet {path.name}: {exc.strerror}") from exc
    return _compile_cached(str(path), mtime, threading.get_ident())


def load_hook(dotted: str) -> Hook:
    """Import ``package.module:function``; a typo is a start-up error, not a runtime one."""
    module_name, _, attr = dotted.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MappingError(f"cannot import hook module {module_name!r}: {exc}") from exc
    hook = getattr(module, attr, None)
    if not callable(hook):
        raise MappingError(f"hook {dotted!r} is not a function")
    return hook  # type: ignore[no-any-return]


def apply_mapping(mapping: Mapping, element: etree._Element, context: dict[str, str]) -> etree._Element:
    """Run the XSLT (if any), then the hook (if any), on ``element``; return the result element."""
    result = element
    if mapping.xslt is not None:
        transform = compile_xslt(mapping.xslt)
        params = {key: etree.XSLT.strparam(value) for key, value in context.items()}
        try:
            out = transform(etree.ElementTree(_detached(result)), **params)  # type: ignore[arg-type]
        except etree.XSLTApplyError as exc:
            raise MappingError(f"stylesheet {mapping.xslt.name} failed: {exc}") from exc
        root = out.getroot()
        if root is None:
            raise MappingError(f"stylesheet {mapping.xslt.name} produced no element")
        result = root
    if mapping.hook is not None:
        hook = load_hook(mapping.hook)
        try:
            produced = hook(result, dict(context))
        except AdapterError:
            raise
        except Exception as exc:  # a hook bug must not take the server down
            raise MappingError(f"hook {mapping.hook} failed: {type(exc).__name__}") from exc
        if produced is not None:
            if not isinstance(produced, etree._Element):
                raise MappingError(f"hook {mapping.hook} must return an XML element")
            result = produced
    return result


def _detached(element: etree._Element) -> etree._Element:
    """A copy of ``element`` as the root of its own document, namespaces preserved."""
    return parse_xml(etree.tostring(element), what="message")
