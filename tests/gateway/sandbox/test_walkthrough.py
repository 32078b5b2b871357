"""The operator guide's sandbox walk-through (section 9: a third country, LV) runs as written.

Every ``sh`` block of that section is run in order by ``bash -e``, as a reader pastes
it in the project root: the only change is the sandbox's directory (``/tmp/sbx`` in
the guide, a temporary one here), and ``.venv/bin/sild`` is a console script of the
interpreter running this test, written the way pip writes one. So a command, an
option or an output the guide shows that no longer holds fails this test.

Subsection 9.1 (a year of operations) promises that no process restarts: the test
records the processes of LV and of the sandbox (their pid files) just before its first
block and just after its last one, by a line it adds between the blocks (the guide
itself stays as a reader sees it), and requires the same processes at both moments.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

GUIDE = Path(__file__).resolve().parents[3] / "docs" / "operator-guide.md"
SECTION = "## 9. Extending the sandbox with a third country (LV)"
YEAR = "### 9.1 A year of operations, without restarting a process"
YEAR_END = "Stop everything, LV included:"
BLOCK = re.compile(r"```sh\n(.*?)```", re.DOTALL)

# Run by the walk-through's shell between blocks: the processes naming the sandbox's
# directory (pid -> command line) and the sandbox's pid files, as JSON. The directory
# comes from the environment so that this process does not name it itself.
SNAPSHOT = """
import json, os, sys
from pathlib import Path
sbx = os.environ["WALKTHROUGH_SBX"]
procs = {}
for proc in Path("/proc").iterdir():
    if not proc.name.isdigit() or int(proc.name) == os.getpid():
        continue
    try:
        cmd = (proc / "cmdline").read_bytes().replace(b"\\0", b" ").decode(errors="replace")
        state = (proc / "stat").read_text().split(") ")[1].split()[0]
    except (OSError, IndexError):
        continue
    if sbx in cmd and state != "Z":
        procs[proc.name] = cmd
pidfiles = {p.name: p.read_text().strip() for p in sorted(Path(sbx, "pids").glob("*.pid"))}
Path(sys.argv[1]).write_text(json.dumps({"processes": procs, "pidfiles": pidfiles}))
"""


def _section() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    start = text.index(SECTION)
    end = text.find("\n## ", start + len(SECTION))
    return text[start:end if end >= 0 else len(text)]


def _blocks() -> list[str]:
    return [re.sub(r"(?m)^  ", "", block) for block in BLOCK.findall(_section())]


def _year_span() -> tuple[int, int]:
    """Indexes of subsection 9.1's first block and of the first block after it."""
    section = _section()
    start, end = section.index(YEAR), section.index(YEAR_END)
    return len(BLOCK.findall(section[:start])), len(BLOCK.findall(section[:end]))


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


def _script(blocks: list[str], sbx: Path, tmp_path: Path) -> str:
    """The section's blocks as one script, with a snapshot before and after subsection 9.1."""
    first, after = _year_span()
    assert 2 < first < after < len(blocks), (first, after, len(blocks))
    (tmp_path / "snapshot.py").write_text(SNAPSHOT)

    def snapshot(name: str) -> str:
        return f"{sys.executable} {tmp_path / 'snapshot.py'} {tmp_path / name}\n"

    parts = blocks[:first] + [snapshot("before.json")] + blocks[first:after] + [snapshot("after.json")] + blocks[after:]
    return "\n".join(parts).replace("/tmp/sbx", str(sbx))


def _check_the_year(out: str, err: str, sbx: Path, tmp_path: Path) -> None:
    """What subsection 9.1 shows happened, and that it happened to the same processes."""
    before = json.loads((tmp_path / "before.json").read_text())
    after = json.loads((tmp_path / "after.json").read_text())
    lv_gateway = [pid for pid, cmd in before["processes"].items() if f"gateway serve {sbx}/LV/gw" in cmd]
    assert len(lv_gateway) == 1, before["processes"]
    assert any(f"central serve {sbx}/LV/central" in cmd for cmd in before["processes"].values())
    assert len(before["pidfiles"]) >= 9, before["pidfiles"]  # 2 x (trust, central, 2 gateways) + backends
    assert after == before, "a process of LV or of the sandbox was restarted or stopped during 9.1"
    # 1. allowed_federations, live: FI's register answers, then not (unknown member), then again
    assert "allowed_federations: EE,FI -> EE" in out and "allowed_federations: EE -> EE,FI" in out
    assert out.count('"personCode": "010190-123M"') == 2
    assert "server.clientproxy.unknown_member" in out
    # 2. a new sign key: the exchange's evidence is signed with its certificate
    imported = re.search(r"certificate \w+ for key (sign-\w+): serial ([0-9a-f]+)", out)
    assert imported, out[-3000:]
    new_key, serial = imported.group(1), int(imported.group(2), 16)
    assert "key sign: disabled" in out and f"key {new_key}: active" in out
    signed = re.search(r"certificate: CN=90000001,O=GOV,C=LV \(serial (\d+)", out)
    assert signed and int(signed.group(1)) == serial, out[-3000:]
    assert f"sign keys now LV/GOV/90000001: {new_key}" in out
    # 3. the authority's new key, the gateway's new anchor, a configuration downloaded after the old key went
    assert "anchor of instance LV verified" in out and "removed from the published sources" in out
    assert "health: OK" in out
    assert out.count('"found":true,"person":{"personCode":"39001011237"') == 2  # section 9's call, then 9.1's
    # 4. an online backup; both restores refused while the node runs; the backup holds the new key
    assert "wrote " in out and "gateway LV/GOV/90000001/gw1" in out
    assert f"the gateway in {sbx}/LV/gw is running (pid {lv_gateway[0]})" in err
    assert "a port of the restored gateway" in err
    assert not (sbx / "LV" / "gw-copy").exists()
    assert re.search(rf"(?m)^{new_key} .*active", out.split("gw.bak")[-1])
    # ... and a restore drill beside the running node: checked, reported, its copy refused by serve
    assert "restore drill: gateway LV/GOV/90000001/gw1 (backup of " in out
    assert re.search(rf"(?m)^  keys in the soft token: .*{new_key}", out), out[-3000:]
    assert re.search(r"(?m)^  message log: \d+ records$", out), out[-3000:]
    assert f"{sbx}/LV/gw-drill is a restore drill's copy, not a node to serve" in err


def test_the_lv_walkthrough_runs_as_written(tmp_path):
    blocks = _blocks()
    assert blocks[2].startswith("SBX=/tmp/sbx\n"), blocks[2][:200]
    sbx = tmp_path / "sbx"
    script = _script(blocks, sbx, tmp_path)
    project = _project(tmp_path)
    sild = project / ".venv" / "bin" / "sild"
    env = dict(os.environ, NO_COLOR="1", WALKTHROUGH_SBX=str(sbx))
    env.pop("SILD_TOKEN_PIN", None)
    up = subprocess.run([str(sild), "sandbox", "up", str(sbx), "--owner-pid", str(os.getpid())], cwd=project,
                        capture_output=True, text=True, timeout=300, env=env)
    try:
        assert up.returncode == 0, up.stderr[-3000:]
        ran = subprocess.run(["bash", "-e", "-o", "pipefail", "-c", script], cwd=project, capture_output=True,
                             text=True, timeout=500, env=env)
        (tmp_path / "walkthrough.out").write_text(ran.stdout + "\n--- stderr\n" + ran.stderr)  # to read after a failure
        assert ran.returncode == 0, (ran.stdout[-3000:], ran.stderr[-3000:])
        out = ran.stdout
        assert '"security_server":"EE/GOV/70000001/gw1"' in out.replace(" ", "")  # the admin API, with its key
        assert "restarted EE/GOV/70000001/gw1" in out
        assert "federated LV with EE, FI: 4 gateways have its configuration" in out
        assert '"found":true,"person":{"personCode":"39001011237","givenName":"Matti"' in out
        _check_the_year(out, ran.stderr, sbx, tmp_path)
        assert re.search(r"stopped \d+ processes", out.splitlines()[-1])
        assert _processes_naming(sbx) == [], "sandbox down left LV or the sandbox running"
    finally:
        subprocess.run([str(sild), "sandbox", "down", str(sbx)], cwd=project, capture_output=True, timeout=120,
                       env=env)
