"""The conformance report: made from real runs of the marked tests, against real or damaged vectors.

Each report here is made as an operator makes it: ``sild conformance report`` (the CLI, in a
process of its own) or ``tools.conformance.write_report``, both running pytest in a
subprocess over the project's marked tests. The damaged vector is a real copy of X-Road's
folder with one file changed; the missing peer is really missing (``PATH`` without it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.support.conformance import PROJECT_ROOT
from tools.conformance import AREAS, write_report
from tools.conformance.render import docs_table
from tools.conformance.run import catalogue, marked_files
from tools.docs import TABLES, render
from tools.vectors import read_sources

CATALOGUE_TABLE = "conformance-summary"
ANCHOR = "globalconf/anchors/configuration_anchor_CS_internal.xml"


def _sild(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    child = dict(os.environ if env is None else env)
    child["PYTHONPATH"] = str(PROJECT_ROOT)
    return subprocess.run([sys.executable, "-c", "from gateway.cli import main; main()", *args], cwd="/",
                          env=child, capture_output=True, text=True, timeout=900)


def _report(out: Path) -> dict[str, Any]:
    report: dict[str, Any] = json.loads((out / "report.json").read_text("utf-8"))
    return report


def _by_test(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["test"]: check for check in report["checks"]}


@pytest.mark.timeout(900)  # the whole report: every marked test of the project, in one subprocess
def test_the_report_of_the_real_vectors_covers_every_area(xroad: Path, tmp_path: Path) -> None:
    run = _sild("conformance", "report", "--out", str(tmp_path / "report"))
    assert run.returncode == 0, run.stdout + run.stderr
    report = _report(tmp_path / "report")
    commit, _ = read_sources(xroad / "SOURCES.tsv")
    assert report["meta"]["xroad_commit"] == commit and report["meta"]["vectors_present"]
    assert report["meta"]["vectors_changed"] == []
    assert report["meta"]["sild_version"]
    areas = {check["area"] for check in report["checks"]}
    assert areas == set(AREAS)
    assert [c for c in report["checks"] if c["outcome"] == "failed"] == []
    checks = _by_test(report)
    wrong = checks["tests/trust/evidence/test_asic.py::test_x_road_containers[wrong-message]"]
    assert (wrong["vector"], wrong["expected"], wrong["observed"], wrong["outcome"]) == (
        "asic/wrong-message.asice", "refused: trust.signature.digest_mismatch",
        "refused: trust.signature.digest_mismatch", "passed")  # observed: recorded by the test itself
    valid = checks["tests/trust/evidence/test_asic.py::test_x_road_containers[valid-signed-message]"]
    assert valid["observed"] == "verifies, signed by DEV/COM/4321/TestClient"
    soap = [c for c in report["checks"] if c["area"] == "soap"]
    assert sum(c["outcome"] == "passed" for c in soap) > 100
    # a refused query shows the fault code sild gave (recorded by the test) beside the one X-Road expects
    missing_body = [c for c in soap if c["vector"] == "soap/queries/missing-body.query"]
    assert {(c["expected"], c["observed"]) for c in missing_body} == {
        ("client.missing_body", "client.missing_body"), ("missing_body", "missing_body")}
    assert {c["observed"] for c in soap if c["outcome"] == "skipped"} == {
        "manifest: attachment-small-mantis.query is missing from the vector snapshot (0 bytes)"}
    markdown = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert f"**X-Road commit of the vectors**: {commit}" in markdown
    assert ("| asic/wrong-message.asice | refused: trust.signature.digest_mismatch | "
            "refused: trust.signature.digest_mismatch | passed |") in markdown
    assert "| as expected | passed |" in markdown  # checks that record no observation of their own
    page = (tmp_path / "report" / "report.html").read_text("utf-8")
    assert page.count('<tr class="passed">') == sum(c["outcome"] == "passed" for c in report["checks"])


def test_a_damaged_vector_shows_as_failed(xroad: Path, tmp_path: Path) -> None:
    copy = tmp_path / "xroad"
    shutil.copytree(xroad, copy)
    anchor = copy / ANCHOR
    anchor.write_bytes(anchor.read_bytes().replace(b"http://cs/internalconf", b"http://cs/elsewhere", 1))
    run = _sild("conformance", "report", "--out", str(tmp_path / "report"), "--area", "anchors",
                env={**os.environ, "SILD_XROAD_VECTORS": str(copy)})
    assert run.returncode == 1, run.stdout + run.stderr  # the report is written, the command says a check failed
    assert "1 failed" in run.stdout
    report = _report(tmp_path / "report")
    assert report["meta"]["vectors_changed"] == [f"{ANCHOR} (differs from X-Road's file)"]
    failed = [c for c in report["checks"] if c["outcome"] == "failed"]
    assert [(c["vector"], c["area"]) for c in failed] == [(ANCHOR, "anchors")]
    assert "http://cs/elsewhere" in failed[0]["observed"]
    assert failed[0]["expected"] == "instance DEV, 2 sources, SHA-224 fingerprint"
    assert {c["outcome"] for c in report["checks"] if c is not failed[0]} == {"passed"}
    assert {c["area"] for c in report["checks"]} == {"anchors"}
    page = (tmp_path / "report" / "report.html").read_text("utf-8")
    assert page.count('<tr class="failed">') == 1
    markdown = (tmp_path / "report" / "report.md").read_text("utf-8")
    assert "| Anchors | X-Road's anchor XML, SHA-224 fingerprint over the file bytes | 10 | 9 | 1 | 0 |" in markdown
    assert "skipped: this area was not selected (--area)" in markdown


def test_a_missing_peer_shows_as_skipped_with_the_reason(tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    checks, failed = write_report(tmp_path / "report", ["ocsp", "timestamps"], env)
    assert failed == 0
    report = _report(tmp_path / "report")
    assert report["meta"]["peers"]["openssl"].startswith("peer openssl is not installed")
    peer_checks = [c for c in report["checks"] if c["peer"] == "openssl"]
    assert len(peer_checks) == 5  # two OCSP, three timestamp checks use openssl
    assert {(c["outcome"], c["observed"]) for c in peer_checks} == {
        ("skipped", "peer openssl is not installed (neither a command on PATH nor a Python module)")}
    others = [c for c in report["checks"] if not c["peer"]]
    assert others and all(c["outcome"] != "failed" for c in others)
    assert "peer openssl**: peer openssl is not installed" in (tmp_path / "report" / "report.md").read_text("utf-8")


def test_without_vectors_each_area_says_why_and_the_command_succeeds(tmp_path: Path) -> None:
    env = {**os.environ, "SILD_XROAD_VECTORS": str(tmp_path / "none"), "SILD_REQUIRE_XROAD_VECTORS": "1"}
    run = _sild("conformance", "report", "--out", str(tmp_path / "report"), "--area", "asic", "--area", "rest", env=env)
    assert run.returncode == 0, run.stdout + run.stderr
    markdown = (tmp_path / "report" / "report.md").read_text("utf-8")
    reason = f"X-Road conformance vectors missing at {tmp_path / 'none'}"
    assert f"* **X-Road vectors**: missing at {tmp_path / 'none'}" in markdown
    asic = [c for c in _report(tmp_path / "report")["checks"] if c["area"] == "asic"]
    assert asic and {(c["outcome"], c["observed"]) for c in asic} == {("skipped", reason)}
    assert f"skipped: all {len(asic)} checks: {reason}" in markdown
    rest = [c for c in _report(tmp_path / "report")["checks"] if c["area"] == "rest"]
    assert rest and {c["outcome"] for c in rest} == {"passed"}  # REST r1 has no vectors: it is checked anyway


def test_the_plugin_fills_templates_reports_failures_and_refuses_unknown_areas(tmp_path: Path) -> None:
    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n"
        "@pytest.mark.parametrize('name', ['a.xml', 'b.xml'])\n"
        "@pytest.mark.conformance(area='anchors', vector='globalconf/{name}', expected=lambda p: 'read ' + p['name'])\n"
        "def test_sample(name):\n"
        "    assert name == 'a.xml', f'{name} was refused'\n\n"
        "def test_not_marked():\n"
        "    pass\n")
    out = tmp_path / "records.json"
    command = [sys.executable, "-m", "pytest", "-p", "tools.conformance.plugin", "-p", "no:cacheprovider", "-q",
               "--conformance-json", str(out), str(tmp_path / "test_sample.py")]
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 1, run.stdout
    records = {r["case"]: r for r in json.loads(out.read_text("utf-8"))}
    assert set(records) == {"a.xml", "b.xml"}  # the unmarked test is not a check
    assert (records["a.xml"]["vector"], records["a.xml"]["expected"], records["a.xml"]["outcome"]) == (
        "globalconf/a.xml", "read a.xml", "passed")
    assert records["b.xml"]["outcome"] == "failed" and "b.xml was refused" in records["b.xml"]["observed"]

    (tmp_path / "test_sample.py").write_text(
        "import pytest\n\n@pytest.mark.conformance(area='anchorz')\ndef test_typo():\n    pass\n")
    run = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == pytest.ExitCode.USAGE_ERROR
    assert "unknown conformance area 'anchorz'" in run.stdout + run.stderr


def test_the_summary_in_docs_is_the_catalogue_of_the_marked_tests() -> None:
    page, table = TABLES[CATALOGUE_TABLE]
    text = (PROJECT_ROOT / page).read_text("utf-8")
    found = catalogue()
    generated = docs_table(found)
    assert generated in text, "run python -m tools.docs (make docs) and commit docs/conformance.md"
    assert {entry["area"] for entry in found} == set(AREAS)
    # a check added to the tests changes the page's table: the page cannot keep an old one
    added = docs_table([*found, {"area": "ocsp", "function": "tests/x/test_new.py::test_new", "vector_pattern": "",
                                 "peer": "openssl"}])
    assert added != generated and "`tests/x/test_new.py`" in added
    marker = f"<!-- generated: {CATALOGUE_TABLE} (python -m tools.docs) -->\n"
    stale = f"{marker}{added}<!-- end generated: {CATALOGUE_TABLE} -->\n"
    assert render(page, stale) == f"{marker}{generated}<!-- end generated: {CATALOGUE_TABLE} -->\n"


def test_every_module_with_a_check_is_found_by_its_marker() -> None:
    files = {p.relative_to(PROJECT_ROOT).as_posix() for p in marked_files()}
    assert "tests/trust/evidence/test_asic.py" in files and "tests/trust/protocol/test_soap_vectors.py" in files
    assert "tests/tools/test_conformance.py" not in files  # this module names the marker only inside strings
