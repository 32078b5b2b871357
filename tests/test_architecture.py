"""The house keeps its shape: public faces that resolve, private modules kept private,
rooms and modules of the size DESIGN.md section 2.1 asks for.

import-linter (``make lint``) checks which room may import which; these tests check
what it cannot express.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trust", "federation", "adapters", "gateway")
MAX_MODULES_PER_ROOM = 15
MAX_MODULE_LINES = 410  # "~400": a docstring's worth of slack, no more
MAX_FUNCTION_LINES = 80


def _sources() -> list[Path]:
    files = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts or "ca_migrations" in path.parts:
                continue  # alembic's history, not rooms
            files.append(path)
    return files


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _faces() -> list[str]:
    return sorted(_module_name(p) for p in _sources() if p.name == "__init__.py")


@pytest.mark.parametrize("face", _faces())
def test_every_name_a_face_offers_resolves(face: str) -> None:
    module = importlib.import_module(face)
    for name in getattr(module, "__all__", ()):
        assert getattr(module, name) is not None, f"{face}.{name}"


def _owner_of_private(target: str) -> str | None:
    """``gateway.messagelog._log`` -> ``gateway.messagelog``: the room a private module belongs to."""
    parts = target.split(".")
    for i, part in enumerate(parts[1:], start=1):
        if part.startswith("_") and not part.startswith("__"):
            return ".".join(parts[:i])
    return None


def _private_imports_from_outside() -> list[str]:
    found = []
    for path in _sources():
        here = _module_name(path)
        home = here if path.name == "__init__.py" else here.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and node.module:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                continue
            for target in targets:
                owner = _owner_of_private(target)
                if owner is None or owner.split(".")[0] not in PACKAGES:
                    continue
                module_part = target[: target.index("._") + 1] + target[target.index("._") + 1:].split(".")[0]
                is_module = (ROOT / Path(*module_part.split("."))).with_suffix(".py").exists() or \
                    (ROOT / Path(*module_part.split("."))).is_dir()
                if is_module and not (home == owner or home.startswith(owner + ".")):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {target}")
                    break
    return found


def test_rooms_import_each_other_only_through_their_faces() -> None:
    assert _private_imports_from_outside() == []


def test_rooms_and_modules_stay_small() -> None:
    crowded, big, long_functions = [], [], []
    rooms: dict[Path, int] = {}
    for path in _sources():
        if path.name != "__init__.py":
            rooms[path.parent] = rooms.get(path.parent, 0) + 1
        source = path.read_text(encoding="utf-8")
        if len(source.splitlines()) > MAX_MODULE_LINES:
            big.append(f"{path.relative_to(ROOT)} ({len(source.splitlines())} lines)")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    long_functions.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({length} lines)")
    crowded = [f"{room.relative_to(ROOT)} ({n} modules)" for room, n in rooms.items() if n > MAX_MODULES_PER_ROOM]
    assert (crowded, big, long_functions) == ([], [], [])
