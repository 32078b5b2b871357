"""The operator guide's sandbox walk-through (section 9: a third country, LV) runs as written.

Every ``sh`` block of that section is run in order by ``bash -e``, as a reader pastes
it in the project root: the only change is the sandbox's directory (``/tmp/sbx`` in
the guide, a temporary one here), and ``.venv/bin/sild`` is a console script of the
interpreter running this test, written the way pip writes one. So a command, an
option or an output the guide shows that no longer holds fails this test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "operator-guide.md"
SECTION = "## 9. Extending the sandbox with a third country (LV)"


def _blocks() -> list[str]:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    section = text[start:end if end >= 0 else len(text)]
    return [re.sub(r"(?m)^  ", "", block) for block in re.findall(r"```sh\n(.*?)```", section, re.S)]


def _project(tmp_path: Path) -> Path:
    """A project root whose ``.venv/bin/sild`` runs this checkout's code."""
    project = tmp_path / "project"
    (project / ".venv" / "bin").mkdir(parents=True)
    script = project / ".venv" / "bin" / "sild"
    script.write_text(f"#!{sys.executable}\nfrom gateway.cli import main\nmain()\n")
    script.chmod(0o755)
    return project


def _processes_naming(directory: Path) -> list[str]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (proc / "stat").read_text().split(") ")[1].split()[0]
        except (OSError, IndexError):
            continue
        if str(directory) in cmd and state != "Z":
            found.append(cmd)
    return found


def test_the_lv_walkthrough_runs_as_written(tmp_path):
    blocks = _blocks()
    assert blocks[2].startswith("SBX=/tmp/sbx\n"), blocks[2][:200]
    sbx = tmp_path / "sbx"
    script = "\n".join(blocks).replace("/tmp/sbx", str(sbx))
    project = _project(tmp_path)
    sild = project / ".venv" / "bin" / "sild"
    env = dict(os.environ, NO_COLOR="1")
    env.pop("SILD_TOKEN_PIN", None)
    up = subprocess.run([str(sild), "sandbox", "up", str(sbx), "--owner-pid", str(os.getpid())], cwd=project,
                        capture_output=True, text=True, timeout=300, env=env)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        ran = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=project, capture_output=True,
                             text=True, timeout=500, env=env)
        assert ran.returncode == 0, (ran.stdout[-3000:], ran.stderr[-3000:])
        out = ran.stdout
        assert '"security_server":"EE/GOV/70000001/gw1"' in out.replace(" ", "")  # the admin API, with its key
        assert "restarted EE/GOV/70000001/gw1" in out
        assert "federated LV with EE, FI: 4 gateways have its configuration" in out
        assert '"found":true,"person":{"personCode":"39001011237","givenName":"Matti"' in out
        assert re.search(r"stopped \d+ processes", out.splitlines()[-1])
        assert _processes_naming(sbx) == [], "sandbox down left LV or the sandbox running"
    finally:
        subprocess.run([str(sild), "sandbox", "down", str(sbx)], cwd=project, capture_output=True, timeout=120,
                       env=env)
