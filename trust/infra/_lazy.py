"""Lazy public faces: a package names its API without importing the modules behind it.

Every package of sild re-exports its public names from its ``__init__``, and other
packages import only those names. If the ``__init__`` imported its modules eagerly,
``import gateway.errors`` would load every module of ``gateway`` (and, through them,
most of sild and Flask): a CLI call or a worker start would pay for code it never
runs. :func:`attach` gives an ``__init__`` a module ``__getattr__`` (PEP 562) that
imports the module holding a name on first use and keeps the value on the package,
so the second lookup is an ordinary attribute. Type checkers see the names through
the ``if TYPE_CHECKING:`` imports each face carries beside the table.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping


def attach(package: str, names: Mapping[str, str]) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, serving ``names`` lazily.

    ``names`` maps each public name to the module that defines it, relative to the
    package (``"._log"``) or absolute (``"gateway.proxy"``).
    """
    table = dict(names)

    def __getattr__(name: str) -> object:
        where = table.get(name)
        if where is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(where, package) if where.startswith(".") else importlib.import_module(where)
        value = getattr(module, name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(table) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
