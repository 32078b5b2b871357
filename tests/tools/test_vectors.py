"""``make vectors``: the vectors are rebuilt from X-Road's git history, each file checked.

X-Road's repository is stood in for by a small real git repository made here: files
committed at X-Road-like paths, then changed by a later commit, so the build must read
the pinned commit and not the work tree. The builder runs as ``make vectors`` does it, a
``python -m tools.vectors`` process.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.conformance import DEFAULT, PROJECT_ROOT, XROAD, missing_reason, present

FILES = {
    "src/common/src/test/resources/identifiers.xsd": b"<xs:schema/>\n",
    "src/service/proxy/proxy-core/src/test/queries/getstate.query": b"<Envelope/>\n",
    "LICENSE": b"MIT\n",
}
LOCAL = {
    "schemas/identifiers.xsd": "src/common/src/test/resources/identifiers.xsd",
    "soap/queries/getstate.query": "src/service/proxy/proxy-core/src/test/queries/getstate.query",
    "LICENSE-X-Road.txt": "LICENSE",
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True).stdout.strip()


@pytest.fixture
def xroad_repo(tmp_path: Path) -> tuple[Path, str]:
    repo = tmp_path / "X-Road"
    repo.mkdir()
    _git(repo, "init", "-q")
    for path, data in FILES.items():
        (repo / path).parent.mkdir(parents=True, exist_ok=True)
        (repo / path).write_bytes(data)
    _git(repo, "add", ".")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "vectors")
    commit = _git(repo, "rev-parse", "HEAD")
    (repo / "LICENSE").write_bytes(b"changed after the pinned commit\n")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qam", "later")
    return repo, commit


def _sources(tmp_path: Path, repo: Path, commit: str, *, corrupt: str = "") -> Path:
    lines = [f"# commit {commit}", "local_path\txroad_repo_path\tgit_blob_sha1\tsha256_of_local_file\tmatch"]
    for local, path in LOCAL.items():
        blob = _git(repo, "rev-parse", f"{commit}:{path}")
        sha = hashlib.sha256(FILES[path]).hexdigest()
        if local == corrupt:
            sha = "0" * 64
        lines.append(f"{local}\t{path}\t{blob}\t{sha}\texact")
    lines.append(f"NOTES.md\t\t{'1' * 40}\t{'2' * 64}\tnone")
    lines.append(f"README.md\tREADME.md\t{'3' * 40}\t{'4' * 64}\tname-only")
    sources = tmp_path / "SOURCES.tsv"
    sources.write_text("\n".join(lines) + "\n")
    return sources


def _build(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tools.vectors", *map(str, args)], cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=60)


def test_builds_each_file_from_the_pinned_commit_and_skips_the_ones_written_here(tmp_path, xroad_repo):
    repo, commit = xroad_repo
    out = tmp_path / "vectors"
    run = _build("--xroad", repo, "--sources", _sources(tmp_path, repo, commit), "--out", out)
    assert run.returncode == 0, run.stderr
    for local, path in LOCAL.items():
        assert (out / local).read_bytes() == FILES[path]  # LICENSE as committed, not as changed later
    assert not (out / "NOTES.md").exists() and not (out / "README.md").exists()
    assert "skipped NOTES.md (match 'none'" in run.stdout and "skipped README.md (match 'name-only'" in run.stdout
    assert f"3 files of X-Road {commit[:8]} checked" in run.stdout
    assert (out / "SOURCES.tsv").is_file()
    again = _build("--xroad", repo, "--sources", tmp_path / "SOURCES.tsv", "--out", out)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def test_a_hash_mismatch_fails_with_one_line_and_writes_nothing(tmp_path, xroad_repo):
    repo, commit = xroad_repo
    out = tmp_path / "vectors"
    run = _build("--xroad", repo, "--sources", _sources(tmp_path, repo, commit, corrupt="soap/queries/getstate.query"),
                 "--out", out)
    assert run.returncode == 1
    assert run.stderr.count("\n") == 1
    assert run.stderr.startswith("vectors: soap/queries/getstate.query: hash mismatch for X-Road's "
                                 "src/service/proxy/proxy-core/src/test/queries/getstate.query")
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".vectors-")] == []


def test_a_different_folder_is_replaced_only_with_force(tmp_path, xroad_repo):
    repo, commit = xroad_repo
    out = tmp_path / "vectors"
    out.mkdir()
    (out / "mine.txt").write_text("not vectors")
    sources = _sources(tmp_path, repo, commit)
    run = _build("--xroad", repo, "--sources", sources, "--out", out)
    assert run.returncode == 1 and "already holds something else" in run.stderr and "--force" in run.stderr
    assert (out / "mine.txt").exists()
    forced = _build("--xroad", repo, "--sources", sources, "--out", out, "--force")
    assert forced.returncode == 0, forced.stderr
    assert not (out / "mine.txt").exists() and (out / "LICENSE-X-Road.txt").read_bytes() == b"MIT\n"


def test_a_checkout_without_the_pinned_commit_is_refused(tmp_path, xroad_repo):
    repo, commit = xroad_repo
    sources = _sources(tmp_path, repo, commit)
    sources.write_text(sources.read_text().replace(commit, "f" * 40))
    run = _build("--xroad", repo, "--sources", sources, "--out", tmp_path / "vectors")
    assert run.returncode == 1 and f"has no commit ffffffff" in run.stderr


@pytest.mark.skipif(not present(), reason=missing_reason())
def test_the_projects_manifest_is_the_one_beside_the_vectors() -> None:
    """``tools/xroad-sources.tsv`` lists the files the tests read (so a built folder serves them)."""
    beside = XROAD / "SOURCES.tsv"
    if not beside.is_file():
        pytest.skip(f"no SOURCES.tsv in {XROAD}")
    assert (PROJECT_ROOT / "tools" / "xroad-sources.tsv").read_bytes() == beside.read_bytes()


def test_default_output_is_where_the_tests_look(monkeypatch) -> None:
    from tools.vectors import default_out

    monkeypatch.delenv("SILD_XROAD_VECTORS", raising=False)
    assert default_out() == DEFAULT
    monkeypatch.setenv("SILD_XROAD_VECTORS", "/somewhere/else")
    assert default_out() == Path("/somewhere/else")
