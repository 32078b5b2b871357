"""docs/quickstart.md, read as a script: its commands, and the output it shows for them.

The quickstart is the first page a new user follows, and its sample output had drifted
from what sild prints (a renamed line, a different process count). These helpers let a
test hold the page to the real thing:

* :func:`missing_lines` takes a sample output block of the page and the real output,
  and returns the sample lines that no real line matches. What legitimately differs per
  run is a wildcard (ports, timings, UUIDs, timestamps, SHA-224 fingerprints, anything
  the page cut with ``...``); everything else, labels and counts included, must match.
* :func:`explore` runs the shell blocks of section 3 ("Explore") against a network that
  ``sild demo --keep`` left running, in order, with the page's ``/tmp/sbx`` replaced by
  the real directory and its sample ``X-Road-Id`` by the real one, and returns what did
  not match: a command that failed, a sample line missing from its block's output, or a
  ``"key": "value"`` pair that a ``# {...}`` comment shows and the output lacks.

The demo itself is run once, by ``tests/gateway/sandbox/test_demo.py``, which hands its
output and its kept network to these helpers instead of a second demo being started.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.support.conformance import PROJECT_ROOT

QUICKSTART = PROJECT_ROOT / "docs" / "quickstart.md"
DOC_DIR = "/tmp/sbx"

_VARIABLE = [  # what differs per run, as regular expressions over an escaped sample line
    (re.compile(r"\S*\\\.\\\.\\\."), r".*"),  # anything the page cut with "..."
    (re.compile(r"/tmp/sild\\-demo\\-\w+"), r"\\S+"),
    (re.compile(r"127\\\.0\\\.0\\\.1:\d+"), r"127\\.0\\.0\\.1:\\d+"),
    (re.compile(r"[0-9a-f]{8}\\-[0-9a-f]{4}\\-[0-9a-f]{4}\\-[0-9a-f]{4}\\-[0-9a-f]{12}"), r"[0-9a-f-]{36}"),
    (re.compile(r"\d{4}\\-\d\d\\-\d\dT\d\d:\d\d:\d\d(\\\.\d+)?\\\+00:00"), r"\\S+"),
    (re.compile(r"(?:[0-9A-F]{1,2}:)+[0-9A-F]{1,2}:?"), r"[0-9A-F:]+"),
    (re.compile(r"\b\d+(\\\.\d+)?(?=(\\ )?(ms|s|bytes)\b)"), r"\\d+(\\.\\d+)?"),
]


@dataclass(frozen=True)
class Block:
    """A fenced block of the page: its language (``""`` for sample output), text and section."""

    lang: str
    text: str
    section: str
    before: str  # the prose just above it


def blocks(markdown: str) -> list[Block]:
    found, section, prose = [], "", []
    lines = iter(markdown.splitlines())
    for line in lines:
        if line.startswith("## "):
            section = line[3:]
        if not line.startswith("```"):
            prose.append(line)
            continue
        body = []
        for inner in lines:
            if inner.startswith("```"):
                break
            body.append(inner)
        found.append(Block(line[3:].strip(), "\n".join(body) + "\n", section, "\n".join(prose[-3:])))
        prose = []
    return found


def _squeeze(line: str) -> str:
    return " ".join(line.split())


def line_pattern(sample: str) -> re.Pattern[str]:
    """A sample line as a pattern over a real line (white space squeezed in both)."""
    pattern = re.escape(_squeeze(sample))
    for variable, wildcard in _VARIABLE:
        pattern = variable.sub(wildcard, pattern)
    return re.compile(pattern)


def missing_lines(sample: str, output: str, directory: str = DOC_DIR) -> list[str]:
    """The lines of a sample block that no line of ``output`` matches."""
    real = [_squeeze(line) for line in output.splitlines()]
    # a line that names a long directory comes out wrapped at 80 columns: try each line joined to the next
    real += [a + b for a, b in zip(real, real[1:])] + [f"{a} {b}" for a, b in zip(real, real[1:])]
    missing = []
    for line in sample.splitlines():
        if _squeeze(line) in ("", "..."):
            continue
        pattern = line_pattern(line.replace(DOC_DIR, directory))
        if not any(pattern.fullmatch(candidate) for candidate in real):
            missing.append(line)
    return missing


def comment_pairs(script: str) -> list[str]:
    """``"key": "value"`` pairs that ``# {...}`` comments of a shell block show as output."""
    shown = " ".join(line.split("#", 1)[1] for line in script.splitlines() if line.lstrip().startswith("# "))
    return [f'"{k}": "{v}"' for k, v in re.findall(r'"(\w+)": "([^"]*)"', _squeeze(shown)) if "..." not in v]


def section(name: str, markdown: str | None = None) -> list[Block]:
    text = QUICKSTART.read_text("utf-8") if markdown is None else markdown
    return [b for b in blocks(text) if b.section.startswith(name)]


def explore_blocks(markdown: str | None = None) -> tuple[Block, list[Block], Block]:
    """Section 3: the command that starts the network, the blocks to run, the one that stops it."""
    shown = section("3.", markdown)
    shell = [b for b in shown if b.lang == "sh"]
    return shell[0], shown[shown.index(shell[0]) + 1:shown.index(shell[-1])], shell[-1]


def sild_shim(cwd: Path) -> None:
    """``.venv/bin/sild`` in ``cwd``, running this interpreter's sild (what the page's commands call)."""
    shim = cwd / ".venv" / "bin" / "sild"
    shim.parent.mkdir(parents=True, exist_ok=True)
    shim.write_text(f"#!/bin/sh\nexec {sys.executable} -c 'from gateway.cli import main; main()' \"$@\"\n")
    shim.chmod(0o755)


def explore(directory: Path, cwd: Path, *, attempts: int = 5) -> list[str]:
    """Run section 3 against the network kept in ``directory``; returns what did not match.

    A block whose output lacks a sample line is run again a few times (3 s apart): the
    message log timestamps in batches every few seconds, as the page says, so a record
    exported at once may not have its timestamp yet.
    """
    _, steps, _ = explore_blocks()
    sild_shim(cwd)
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT), NO_COLOR="1")
    setup, problems, replace = "", [], {DOC_DIR: str(directory)}
    for number, block in enumerate(steps):
        saved = re.search(r"Save this as `([^`]+)`", block.before)
        if block.lang not in ("sh", "") and saved:
            (cwd / saved.group(1)).write_text(block.text)
        if block.lang != "sh":
            continue
        script = block.text
        for old, new in replace.items():
            script = script.replace(old, new)
        if re.match(r"[A-Z_]+=", script):
            setup += script
            continue
        sample = steps[number + 1].text if number + 1 < len(steps) and steps[number + 1].lang == "" else ""
        for attempt in range(attempts):
            run = subprocess.run(["bash", "-c", setup + script], cwd=cwd, env=env, capture_output=True, text=True,
                                 timeout=120)
            output = run.stdout + run.stderr
            lacking = missing_lines(sample, output, str(directory)) + [
                pair for pair in comment_pairs(script) if _squeeze(pair) not in _squeeze(output)]
            if not lacking and run.returncode == 0:
                break
            time.sleep(3)
        if run.returncode != 0:
            problems.append(f"exit {run.returncode}: {script.strip()}\n{output[-1500:]}")
        problems += [f"not in the output of `{script.strip().splitlines()[0]}`: {line!r}\n{output[-1500:]}"
                     for line in lacking]
        real_id = re.search(r"^X-Road-Id: (\S+)", output, re.M)
        doc_id = re.search(r"^X-Road-Id: (\S+)", sample, re.M)
        if real_id and doc_id:
            replace[doc_id.group(1)] = real_id.group(1)
    return problems


def demo_problems(plain: str, kept: str, kept_dir: Path) -> list[str]:
    """The sample lines of sections 2 (``make demo``) and 3 (``--keep``) that the real demos did not print."""
    demo_sample = next(b for b in section("2.") if b.lang == "")
    _, steps, _ = explore_blocks()
    keep_sample = steps[0]
    return ([f"section 2 shows a line `sild demo` did not print: {line!r}"
             for line in missing_lines(demo_sample.text, plain)]
            + [f"section 3 shows a line `sild demo --keep` did not print: {line!r}"
               for line in missing_lines(keep_sample.text, kept, str(kept_dir))])
