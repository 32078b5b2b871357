"""The one exception tree: every error class of sild hangs under SildError, is drawn in
``trust.errors``' docstring, and carries a stable dotted code.

Run ``python -m tests.trust.test_errors`` to print the tree to paste after a change.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import trust.errors
from trust.errors import SildError

PACKAGES = ("trust", "federation", "adapters", "gateway")
BEGIN, END = "The tree::\n", "\n(end of the tree)"


def _import_everything() -> None:
    for name in PACKAGES:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if ".migrations" in info.name or "ca_migrations" in info.name or info.name.endswith("__main__"):
                continue  # alembic environments run migrations when imported
            importlib.import_module(info.name)


def _room(cls: type) -> str:
    parts = cls.__module__.split(".")
    public = [p for p in parts if not p.startswith("_")]
    return ".".join(public)


def _subclasses(cls: type) -> list[type]:
    found = [c for c in cls.__subclasses__() if c.__module__.split(".")[0] in PACKAGES]
    return sorted(found, key=lambda c: (c.__name__, c.__module__))


def render_tree() -> str:
    """The class tree under SildError: name, code and room of each class."""
    _import_everything()
    lines: list[str] = []

    def walk(cls: type, prefix: str, last: bool, top: bool) -> None:
        label = f"{cls.__name__} [{cls.code}] ({_room(cls)})"  # type: ignore[attr-defined]
        lines.append(label if top else prefix + ("└── " if last else "├── ") + label)
        children = _subclasses(cls)
        for i, child in enumerate(children):
            walk(child, prefix if top else prefix + ("    " if last else "│   "), i == len(children) - 1, False)

    walk(SildError, "", True, True)
    return "\n".join("    " + line for line in lines)


def drawn_tree() -> str:
    doc = inspect.getdoc(trust.errors) or ""
    assert BEGIN in doc and END in doc, "trust.errors' docstring has no tree"
    body = doc.split(BEGIN, 1)[1].split(END, 1)[0]
    return body.strip("\n")


def test_the_docstring_draws_the_whole_tree() -> None:
    expected = render_tree()
    assert drawn_tree() == expected, "trust.errors' tree is stale; paste `python -m tests.trust.test_errors`:\n" + expected


def test_every_error_has_a_code_and_every_code_one_class() -> None:
    _import_everything()
    seen: dict[str, type] = {}
    stack = [SildError]
    while stack:
        cls = stack.pop()
        stack.extend(_subclasses(cls))
        code = cls.code  # type: ignore[attr-defined]
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*", code), (cls, code)
        if "code" in vars(cls):
            assert code not in seen, f"{cls} and {seen.get(code)} share the code {code}"
            seen[code] = cls


def test_codes_run_from_the_instance_to_the_root() -> None:
    from trust.errors import TrustError, XmlError, XmlTooDeep

    assert list(XmlTooDeep("deep").codes()) == [XmlTooDeep.code, XmlError.code, TrustError.code, SildError.code]
    assert list(XmlError("x", code="trust.xml.other").codes()) == [
        "trust.xml.other", XmlError.code, TrustError.code, SildError.code]


if __name__ == "__main__":
    print(render_tree())
