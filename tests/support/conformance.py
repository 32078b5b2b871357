"""Where X-Road's conformance vectors are, and what a run does when they are missing.

The vectors are X-Road's own files (see docs/conformance.md). They are data that the
project never copies: they are looked up in ``$SILD_XROAD_VECTORS``, else in
``../shared/conformance/xroad`` beside the project root (where CI lays them), and
``make vectors`` builds them from a checkout of X-Road's repository (``tools/vectors.py``).

A fresh clone has none, and its ``make test`` must still pass: every test that reads a
vector is then *skipped*, never failed, and the run ends with one line saying how many
and how to get them (``tests/conftest.py``). CI sets :data:`REQUIRE_ENV`, which turns
missing vectors into a failure at session start, so a CI run can never silently skip
conformance. Tests reach the vectors through the ``xroad`` fixture (which skips) or,
for module-level tables that parametrize tests, through :data:`XROAD` guarded by
:func:`present`; the tests of a module that imports :data:`XROAD` are marked
``xroad_vectors`` and skipped as a whole when the vectors are missing.

``soap/manifest.json`` is not X-Road's file (it was written beside the vectors, mapping
each SOAP query to the X-Road test that reads it), so ``make vectors`` cannot rebuild it:
the project keeps it as its own test table, :data:`SOAP_MANIFEST`.
"""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT = PROJECT_ROOT.parent / "shared" / "conformance" / "xroad"
XROAD = Path(os.environ.get("SILD_XROAD_VECTORS") or DEFAULT)
"""Root of the vectors: ``$SILD_XROAD_VECTORS``, else :data:`DEFAULT`."""

SOAP_MANIFEST = Path(__file__).with_name("xroad_soap_manifest.json")
"""How X-Road's tests use each file of ``soap/queries`` (the project's copy; see above)."""

REQUIRE_ENV = "SILD_REQUIRE_XROAD_VECTORS"
"""Set to ``1`` (``.ci/run`` does): a run without the vectors fails at once instead of skipping."""

FOLDERS = ("asic", "certs", "globalconf", "schemas", "services", "signatures", "soap")
"""The top-level folders of the vectors; all must be there for the vectors to count as present."""

HOW_TO_GET = ("get them with `make vectors XROAD=path/to/X-Road` (a checkout of "
              "github.com/nordic-institute/X-Road) or point SILD_XROAD_VECTORS at a copy; see docs/conformance.md")


def present(root: Path = XROAD) -> bool:
    """Whether ``root`` holds the vectors (an empty or partial folder does not)."""
    return all((root / folder).is_dir() for folder in FOLDERS)


def required() -> bool:
    """Whether this run must have the vectors (:data:`REQUIRE_ENV` set to a true value)."""
    return os.environ.get(REQUIRE_ENV, "").strip().lower() not in ("", "0", "no", "false")


def missing_reason(root: Path = XROAD) -> str:
    """The skip reason of a test that needs the vectors."""
    return f"X-Road conformance vectors missing at {root}"


def reads_vectors(function: object, module_globals: dict, seen: set[int] | None = None) -> bool:
    """Whether a test function reaches the vectors through its module's globals.

    True when its code (nested functions and lambdas included) names :data:`XROAD`, a
    module-level path inside it (``GC = XROAD / "globalconf"``), or a function of the
    same module that does. Tests that take the ``xroad`` fixture need no such reading:
    the fixture skips them itself.
    """
    seen = set() if seen is None else seen
    code = getattr(getattr(function, "__wrapped__", function), "__code__", None)
    if code is None or id(code) in seen:
        return False
    seen.add(id(code))
    for name in _names(code):
        value = module_globals.get(name)
        if value is XROAD or (isinstance(value, Path) and value.is_relative_to(XROAD)):
            return True
        if callable(value) and getattr(value, "__module__", None) == module_globals.get("__name__"):
            if reads_vectors(value, module_globals, seen):
                return True
    return False


def _names(code: object) -> set[str]:
    names = set(getattr(code, "co_names", ()))
    for const in getattr(code, "co_consts", ()):
        if hasattr(const, "co_names"):
            names |= _names(const)
    return names
