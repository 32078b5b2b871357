"""The pytest plugin behind the conformance report: it records what each conformance check did.

Loaded only by the report's run (``pytest -p tools.conformance.plugin``); an ordinary
``pytest`` run never loads it, so the tests behave there exactly as they always did.
In the report's run it

* keeps only the tests marked ``@pytest.mark.conformance(area=..., vector=..., expected=...,
  peer=...)`` (the others are deselected) and refuses an area :data:`~.areas.AREAS` does not know;
* skips a check whose independent peer is missing (``peer="openssl"``: a command on ``PATH``;
  ``peer="zeep"``: an importable module) with the reason, before its fixtures run. In an
  ordinary run the same test fails instead, as the project wants (a CI run must never skip a
  peer silently); the report, which may run anywhere, says what could not be checked and why;
* writes one JSON record per check to ``--conformance-json``: its area, vector, expected and
  observed outcome. ``vector`` and ``expected`` are templates filled with the test's parameters
  (``"asic/{name}.asice"``), or callables given the parameters; a path inside the vectors is
  written relative to them. A check without ``expected`` expects what its name says.
  ``vectors`` (a glob) tells the catalogue which vectors a check reads when ``vector`` is a
  bare parameter (``vector="{path}"``). A test may record what it observed with
  ``record_property("observed", ...)``; otherwise a passed check observed "as expected" and
  a failed one its failure message.

``--conformance-catalogue`` writes, instead of outcomes, one record per marked test function
(no test runs): the catalogue ``docs/conformance.md``'s summary table is built from.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from tools.vectors import default_out

from .areas import AREAS

MARKER = "conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance report")
    group.addoption("--conformance-json", default=None, help="write the outcome of each conformance check here")
    group.addoption("--conformance-catalogue", default=None, help="write the marked test functions here; run none")
    group.addoption("--conformance-area", action="append", default=[], help="only this area (repeatable)")


def peer_missing(peer: str, path: str | None = None) -> str | None:
    """Why the independent peer ``peer`` cannot be used here, or None when it can.

    ``path`` is the ``PATH`` to look in (this process's by default).
    """
    if peer.isidentifier() and not shutil.which(peer, path=path):  # a Python module, like zeep
        if importlib.util.find_spec(peer) is not None:
            return None
        return f"peer {peer} is not installed (neither a command on PATH nor a Python module)"
    if shutil.which(peer, path=path) is None:
        return f"peer {peer} is not on PATH (make tools installs it)"
    return None


def _marker(item: pytest.Item) -> pytest.Mark | None:
    return item.get_closest_marker(MARKER)


def _plain(value: object, root: Path) -> object:
    if isinstance(value, Path):
        try:
            return value.resolve().relative_to(root.resolve()).as_posix()
        except ValueError:
            return value.as_posix()
    return value


def _params(item: pytest.Item) -> dict[str, Any]:
    callspec = getattr(item, "callspec", None)
    root = default_out()  # where the tests read the vectors
    return {k: _plain(v, root) for k, v in (callspec.params.items() if callspec is not None else ())}


def _fill(template: str | Callable[[dict[str, Any]], str] | None, params: dict[str, Any]) -> str | None:
    if template is None:
        return None
    if callable(template):
        try:
            return str(template(params))
        except Exception as exc:  # a table the test reads changed shape: say so, do not lose the check
            return f"(not computed: {type(exc).__name__}: {exc})"
    try:
        return template.format(**params)
    except (KeyError, IndexError):
        return template


def describe(item: pytest.Item) -> dict[str, Any]:
    """What the report says of ``item`` before it runs: area, test, vector, expected outcome, peer."""
    mark = _marker(item)
    assert mark is not None
    kwargs = mark.kwargs
    params = _params(item)
    callspec = getattr(item, "callspec", None)
    name = getattr(item, "originalname", item.name)
    if any(type(value).__name__ == "NotSetType" for value in params.values()):  # a table read from the vectors
        return {"area": kwargs["area"], "test": item.nodeid, "function": f"{item.nodeid.split('::')[0]}::{name}",
                "case": "", "vector": kwargs.get("vectors") or _pattern(kwargs.get("vector")),
                "vector_pattern": kwargs.get("vectors") or _pattern(kwargs.get("vector")),
                "expected": "one check per vector (the table of cases is read from the vectors)",
                "peer": kwargs.get("peer", "")}
    return {
        "area": kwargs["area"],
        "test": item.nodeid,
        "function": f"{item.nodeid.split('::')[0]}::{name}",
        "case": callspec.id if callspec is not None else "",
        "vector": _fill(kwargs.get("vector"), params) or "",
        "vector_pattern": kwargs.get("vectors") or _pattern(kwargs.get("vector")),
        "expected": _fill(kwargs.get("expected"), params) or name.removeprefix("test_").replace("_", " "),
        "peer": kwargs.get("peer", ""),
    }


def _pattern(vector: object) -> str:
    """The vectors a check reads, as a glob for the catalogue (``asic/{name}.asice`` -> ``asic/*.asice``)."""
    if not isinstance(vector, str):
        return ""
    out, depth = "", 0
    for char in vector:
        if char == "{":
            depth += 1
            out += "*" if depth == 1 else ""
        elif char == "}":
            depth -= 1
        elif depth == 0:
            out += char
    return out


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    areas = set(config.getoption("conformance_area"))
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        mark = _marker(item)
        if mark is not None and mark.kwargs.get("area") not in AREAS:
            raise pytest.UsageError(f"{item.nodeid}: unknown conformance area {mark.kwargs.get('area')!r}; "
                                    f"known: {', '.join(AREAS)}")
        (keep if mark is not None and (not areas or mark.kwargs["area"] in areas) else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    catalogue = config.getoption("conformance_catalogue")
    if catalogue:
        functions: dict[str, dict[str, Any]] = {}
        for item in keep:
            record = describe(item)
            functions.setdefault(record["function"], {k: record[k] for k in ("area", "function", "vector_pattern",
                                                                              "peer")})
        Path(catalogue).write_text(json.dumps(list(functions.values()), indent=1), "utf-8")
        items[:] = []


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    mark = _marker(item)
    if mark is None or not item.config.getoption("conformance_json"):
        return
    for peer in str(mark.kwargs.get("peer", "")).split():
        reason = peer_missing(peer)
        if reason is not None:
            pytest.skip(reason)


class _Recorder:
    """Collects one record per check from its reports (setup, call, teardown)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: dict[str, dict[str, Any]] = {}
        self.items: dict[str, pytest.Item] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        self.items = {item.nodeid: item for item in items}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        item = self.items.get(report.nodeid)
        if item is None:
            return
        record = self.records.setdefault(report.nodeid, describe(item) | {"outcome": "", "observed": ""})
        if record["outcome"] in ("failed", "skipped"):
            return  # the first setback is the one that counts
        if report.skipped:
            reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
            record.update(outcome="skipped", observed=str(reason).removeprefix("Skipped: "))
        elif report.failed:
            record.update(outcome="failed", observed=_failure(report))
        elif report.when == "call":
            observed = dict(report.user_properties).get("observed")
            record.update(outcome="passed", observed=str(observed) if observed is not None else "as expected")

    def pytest_sessionfinish(self) -> None:
        self.path.write_text(json.dumps(list(self.records.values()), indent=1), "utf-8")


def _failure(report: pytest.TestReport) -> str:
    """One line for a failed check: the assertion or exception pytest reported, bounded."""
    crash = getattr(report.longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(report.longrepr)
    first = " ".join(text.strip().splitlines()[:3])
    where = "" if report.when == "call" else f" (in {report.when})"
    return (first[:400] + ("..." if len(first) > 400 else "")) + where


def pytest_configure(config: pytest.Config) -> None:
    # setup.cfg registers the marker for ordinary runs; the plugin does too, for a run elsewhere
    config.addinivalue_line("markers", "conformance(area, vector, vectors, expected, peer): a conformance check")
    path = config.getoption("conformance_json")
    if path:
        config.pluginmanager.register(_Recorder(Path(path)), "conformance-recorder")
