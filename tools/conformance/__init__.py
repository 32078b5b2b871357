"""The conformance report: what sild does with every X-Road vector and interoperability peer.

``python -m tools.conformance --out DIR`` (``sild conformance report``, ``make conformance``)
runs the project's conformance checks (the tests marked ``@pytest.mark.conformance``) and
writes ``report.md``, ``report.html`` and ``report.json``. Why it lives in ``tools/`` and not
in a room of sild: it runs the project's tests, so it needs the source checkout, like
``tools/vectors.py`` which builds the vectors and ``tools/docs.py`` which generates the
tables of docs/; an installed sild has neither ``tests/`` nor pytest.

* :mod:`.areas`: the protocol areas and what sild supports of each;
* :mod:`.plugin`: the pytest plugin that records each check's outcome;
* :mod:`.run`: runs the checks in a subprocess and gathers the header (versions, vectors, peers);
* :mod:`.render`: Markdown, HTML and docs/conformance.md's summary table.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from .areas import AREAS
from .render import html_page, markdown
from .run import ReportError, meta, run_checks

__all__ = ["AREAS", "ReportError", "write_report", "main"]


def write_report(out: Path, areas: list[str] | None = None, env: dict[str, str] | None = None) -> tuple[int, int]:
    """Run the checks and write the report into ``out``; returns (checks, failed)."""
    unknown = [a for a in areas or [] if a not in AREAS]
    if unknown:
        raise ReportError(f"unknown area {unknown[0]!r}; known: {', '.join(AREAS)}")
    out.mkdir(parents=True, exist_ok=True)
    header = meta(areas, env)
    records = run_checks(out / "pytest.log", areas, env)
    (out / "report.md").write_text(markdown(header, records), "utf-8")
    (out / "report.html").write_text(html_page(header, records), "utf-8")
    (out / "report.json").write_text(json.dumps({"meta": vars(header), "checks": records}, indent=1), "utf-8")
    return len(records), sum(1 for r in records if r["outcome"] == "failed")


def main(argv: list[str]) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tools.conformance", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for report.md, report.html, report.json")
    parser.add_argument("--area", action="append", default=[], choices=list(AREAS),
                        help="only this area (repeatable); all by default")
    args = parser.parse_args(argv)
    try:
        checks, failed = write_report(args.out, args.area)
    except ReportError as exc:
        print(f"conformance: error: {exc}", file=sys.stderr)
        return 2
    print(f"conformance: {checks} checks, {failed} failed; report in {args.out / 'report.html'} "
          f"and {args.out / 'report.md'}")
    return 1 if failed else 0
