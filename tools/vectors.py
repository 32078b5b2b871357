"""Build X-Road's conformance vectors from a checkout of X-Road's repository.

The tests read X-Road's own files (docs/conformance.md) from a folder outside the
project: the vectors are X-Road's data, not sild's, and are never committed here.
``tools/xroad-sources.tsv`` is the manifest that makes the folder reproducible: its
``# commit`` line pins X-Road's commit, and each row names a file of the folder, its path
in X-Road's repository, its git blob id and its SHA-256, and whether it is X-Road's file
(``exact``) or was written beside the vectors (``none``, ``name-only``: the README, the
protocol digest, the SOAP manifest; the project describes those in its own docs and
tests, so they are skipped here, and said to be).

Each file is read from git's object store at the pinned commit (``git cat-file``,
whatever the checkout's work tree holds) and checked against both hashes before
anything is written; a mismatch stops the build with one line naming the file.
The folder is written beside its destination and moved into place only when complete,
so a failed build leaves nothing half-made; a different existing folder is replaced only
with ``--force``.

Usage (``make vectors XROAD=path/to/X-Road`` runs the first)::

    python -m tools.vectors --xroad path/to/X-Road [--out DIR] [--force]
    python -m tools.vectors --clone [--out DIR]      # clones X-Road first (needs the network)

``--out`` defaults to where the tests look: ``$SILD_XROAD_VECTORS``, else
``../shared/conformance/xroad`` beside the project root.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SOURCES = Path(__file__).with_name("xroad-sources.tsv")
REPOSITORY = "https://github.com/nordic-institute/X-Road"


class BuildError(Exception):
    """Why the vectors could not be built: one line for the person who ran the build."""


@dataclass(frozen=True)
class Row:
    local: str
    xroad: str
    blob: str
    sha256: str
    match: str


def default_out() -> Path:
    """Where the tests look for the vectors (the same rule as ``tests/support/conformance.py``)."""
    return Path(os.environ.get("SILD_XROAD_VECTORS") or PROJECT_ROOT.parent / "shared" / "conformance" / "xroad")


def read_sources(path: Path) -> tuple[str, list[Row]]:
    """The pinned commit and the rows of a SOURCES file."""
    commit, rows = "", []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        if line.startswith("# commit "):
            commit = line.split()[2]
        elif line and not line.startswith(("#", "local_path\t")):
            fields = line.split("\t")
            if len(fields) != 5 or not fields[0] or ".." in Path(fields[0]).parts or fields[0].startswith("/"):
                raise BuildError(f"{path}:{number}: expected a relative path and 4 tab-separated fields")
            rows.append(Row(*fields))
    if not commit:
        raise BuildError(f"{path}: no '# commit <sha>' line")
    return commit, rows


def blobs(repo: Path, commit: str, paths: list[str]) -> dict[str, tuple[str, bytes]]:
    """``{path: (blob id, content)}`` of each path at ``commit``, in one ``git cat-file --batch``."""
    request = "".join(f"{commit}:{p}\n" for p in paths).encode()
    try:
        done = subprocess.run(["git", "-C", str(repo), "cat-file", "--batch"], input=request,
                              capture_output=True, check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise BuildError(f"cannot read git objects in {repo}: {exc}") from None
    out, found, at = done.stdout, {}, 0
    for path in paths:
        end = out.index(b"\n", at)
        header = out[at:end].decode().split()
        at = end + 1
        if header[-1] == "missing":
            continue
        size = int(header[2])
        if header[1] == "blob":  # a folder at that path is a tree: not a file
            found[path] = (header[0], out[at:at + size])
        at += size + 1
    return found


def check_commit(repo: Path, commit: str) -> None:
    """Refuse a folder that is not a git repository holding the pinned commit."""
    probe = subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{commit}^{{commit}}"],
                           capture_output=True, text=True)
    if probe.returncode != 0:
        raise BuildError(f"{repo} has no commit {commit[:8]}: give a clone of {REPOSITORY} "
                         f"(git -C {repo} fetch origin {commit})")


def build(repo: Path, out: Path, sources: Path = SOURCES, force: bool = False,
          log: Callable[[str], None] = print) -> list[Row]:
    """Write the vectors of ``sources`` from ``repo`` into ``out``; returns the rows skipped."""
    commit, rows = read_sources(sources)
    check_commit(repo, commit)
    taken = [r for r in rows if r.match == "exact" and r.xroad]
    skipped = [r for r in rows if r not in taken]
    found = blobs(repo, commit, [r.xroad for r in taken])
    for row in taken:
        if row.xroad not in found:
            raise BuildError(f"{row.local}: {row.xroad} is not in X-Road's repository at {commit[:8]}")
        blob, data = found[row.xroad]
        sha256 = hashlib.sha256(data).hexdigest()
        if blob != row.blob or sha256 != row.sha256:
            raise BuildError(f"{row.local}: hash mismatch for X-Road's {row.xroad} at {commit[:8]} "
                             f"(blob {blob}, sha256 {sha256}; {sources.name} says {row.blob}, {row.sha256})")
    if out.exists() and any(out.iterdir()) and not force:
        if not _same(out, taken, skipped, found):
            raise BuildError(f"{out} already holds something else: move it away or rerun with --force")
        log(f"vectors: {out} already holds the {len(taken)} files of X-Road {commit[:8]}; nothing to do")
        return skipped
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".vectors-", dir=out.parent))
    for row in taken:
        target = staging / row.local
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(found[row.xroad][1])
    shutil.copyfile(sources, staging / "SOURCES.tsv")
    _replace(staging, out)
    log(f"vectors: {len(taken)} files of X-Road {commit[:8]} checked and written to {out}")
    for row in skipped:
        log(f"vectors: skipped {row.local} (match '{row.match}': written beside the vectors, "
            "not X-Road's; see docs/conformance.md)")
    return skipped


def _same(out: Path, rows: list[Row], skipped: list[Row], found: dict[str, tuple[str, bytes]]) -> bool:
    """Whether ``out`` already holds exactly these files (besides the ones written beside them)."""
    have = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    have -= {"SOURCES.tsv"} | {r.local for r in skipped}
    if have != {r.local for r in rows}:
        return False
    return all((out / r.local).read_bytes() == found[r.xroad][1] for r in rows)


def _replace(staging: Path, out: Path) -> None:
    old = out.with_name(out.name + ".old") if out.exists() else None
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
        out.rename(old)
    staging.rename(out)
    if old is not None:
        shutil.rmtree(old)


def clone(into: Path) -> Path:
    """A bare-enough clone of X-Road's repository (blobs fetched on demand)."""
    repo = into / "X-Road"
    done = subprocess.run(["git", "clone", "--quiet", "--filter=blob:none", "--no-checkout", REPOSITORY, str(repo)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["git clone failed"])[-1]
        raise BuildError(f"cannot clone {REPOSITORY} ({last}): clone it elsewhere and run make vectors XROAD=path")
    return repo


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.vectors", description=__doc__.split("\n\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--xroad", type=Path, help="a clone of X-Road's repository (any branch: the commit is pinned)")
    source.add_argument("--clone", action="store_true", help=f"clone {REPOSITORY} first (needs the network)")
    parser.add_argument("--out", type=Path, default=None, help="where to write (default: where the tests look)")
    parser.add_argument("--sources", type=Path, default=SOURCES, help="the manifest (default: tools/xroad-sources.tsv)")
    parser.add_argument("--force", action="store_true", help="replace an existing folder that holds something else")
    args = parser.parse_args(argv)
    out = (args.out or default_out()).resolve()
    try:
        if args.clone:
            with tempfile.TemporaryDirectory(prefix="xroad-") as tmp:
                build(clone(Path(tmp)), out, args.sources, args.force)
        else:
            build(args.xroad, out, args.sources, args.force)
    except BuildError as exc:
        print(f"vectors: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
