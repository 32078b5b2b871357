"""``sild conformance report``: run the conformance checks and write the report.

The report is made by ``tools/conformance`` (its docstring says why it runs the project's
own tests, marked ``@pytest.mark.conformance``, rather than a second set of checks). That
code and the tests live in the source checkout, not in an installed sild, so this command
only finds the checkout that this sild was installed from (``pip install -e``) and runs
``python -m tools.conformance`` there, in a process of its own: the report's run gets its
own working directory and environment and its exit code becomes this command's. A sild
installed without its checkout gets a one-line error saying what is needed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click


def project_root() -> Path | None:
    """The source checkout this sild runs from, or None for an installed package."""
    root = Path(__file__).resolve().parents[3]
    if (root / "tools" / "conformance" / "__init__.py").is_file() and (root / "tests").is_dir():
        return root
    return None


@click.group("conformance")
def conformance_group() -> None:
    """X-Road conformance: a report of what sild does with X-Road's vectors and independent peers."""


@conformance_group.command("report")
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for report.html, report.md, report.json (and pytest.log); created if missing.")
@click.option("--area", "areas", multiple=True, metavar="AREA",
              help="Only this protocol area (repeatable), e.g. soap, anchors, ocsp; all by default.")
def report_command(out: Path, areas: tuple[str, ...]) -> None:
    """Run every conformance check and write the report (HTML and Markdown).

    Each X-Road vector ($SILD_XROAD_VECTORS, else ../shared/conformance/xroad) and each
    interoperability peer found on this machine (openssl, xmlsec1, zeep) is checked, per
    protocol area, with the expected and observed outcome; a check that cannot run says why
    (vectors or a peer missing). Exit status 1 when a check failed. Needs the source checkout
    with the test dependencies (make conformance does the same).
    """
    root = project_root()
    if root is None:
        raise click.ClickException("the conformance report runs sild's own tests: it needs the source checkout "
                                   "(tools/ and tests/ beside gateway/) and its test dependencies, not an "
                                   "installed package")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(root), env.get("PYTHONPATH", "")) if p)
    command = [sys.executable, "-m", "tools.conformance", "--out", str(out.resolve())]
    command += [arg for area in areas for arg in ("--area", area)]
    done = subprocess.run(command, cwd=root, env=env, check=False)
    if done.returncode:
        sys.exit(done.returncode)
