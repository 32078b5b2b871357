"""``sild demo --tracker``: the cross-border data tracker, run for real (issue 20, part 1).

The sandbox declares where FI vero's ``getTaxRecord`` names its data subject; the
extra step makes EE tax's call and reads vero's tracker over the admin API with a
``tracker`` key. Afterwards the same answer is printed by ``sild gateway tracker`` from
vero's gateway directory, which the demo leaves in place (``--dir``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]

SILD = [sys.executable, "-c", "from gateway.cli import main; main()"]
MATTI_FI = "010190-123M"


def test_demo_tracker_step_shows_who_read_a_finnish_tax_record(tmp_path: Path) -> None:
    env = dict(os.environ, NO_COLOR="1")
    done = subprocess.run([*SILD, "demo", "--tracker", "--dir", str(tmp_path)], capture_output=True, text=True,
                          env=env, timeout=540)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out[-4000:]
    step = out.split("Step 8. Data tracker: who read a FI person's tax record", 1)[1].split("Summary", 1)[0]
    assert "asks FI vero's gateway (API key role tracker)" in step
    assert f"{MATTI_FI}: " in step and "who              EE/GOV/70000001/tax (user EE38001010000)" in step
    assert "what             FI/GOV/0245437-2/vero/getTaxRecord" in step
    # purpose-bound access: the bank's grant names a purpose; without it the call is refused for that reason
    flat = " ".join(step.split())  # the console wraps long values
    assert "FI vero grants EE bank getTaxRecord for loan-assessment, 1 day" in flat
    assert "fault server.serverproxy.access_denied reason purpose required:" in flat
    assert "with loan-assessment HTTP 200" in flat
    assert "purpose tax-assessment" in flat and "purpose loan-assessment" in flat  # the tracker says why
    assert out.count("    ok (") == 8 and "nothing is left running" in out
    report = (tmp_path / "tracker-report.html").read_text()
    assert "Your data in the Finnish Tax Administration: who looked, when, why" in report
    assert "EE/GOV/70000001/tax" in report and "sild gateway log export" in report
    # the same list from the gateway directory, with the CLI
    vero_dir = str(tmp_path / "FI" / "gw-0245437-2-gw1")  # the sandbox's layout (sandbox.json goes with `down`)
    shown = subprocess.run([*SILD, "gateway", "tracker", MATTI_FI, vero_dir, "--json"], capture_output=True,
                           text=True, env=env, timeout=120)
    assert shown.returncode == 0, shown.stderr
    entries = json.loads(shown.stdout)["entries"]
    assert {e["client"] for e in entries} == {"EE/GOV/70000001/tax", "EE/COM/10000003/bank"}
    assert [e["purpose"] for e in entries if e["client"].endswith("bank")] == ["loan-assessment"]
    assert all(e["log_record_id"] is not None for e in entries)
    rules = subprocess.run([*SILD, "gateway", "tracker", "list", vero_dir], capture_output=True, text=True,
                           env=env, timeout=120)
    assert "FI/GOV/0245437-2/vero getTaxRecord: xpath vero:getTaxRecord/vero:personCode" in rules.stdout
