"""``sild demo`` leaves no folder behind in the temporary directory unless asked to keep it.

The steps are replaced here (the real ones run in ``test_demo.py``): what is under
test is the harness's clean-up of the folder it made for itself.
"""

from __future__ import annotations

import io
import tempfile

import pytest

from gateway.sandbox import _demo_run
from gateway.sandbox._console import Console
from gateway.sandbox._demo import Demo, DemoStepFailed


@pytest.fixture
def temp_dir(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _fail(_demo: Demo) -> None:
    raise DemoStepFailed("the step did not hold")


def test_a_demo_removes_the_folder_it_made(temp_dir, monkeypatch):
    monkeypatch.setattr(_demo_run, "STEPS", (("Nothing to do", "close"),))
    out = io.StringIO()
    assert _demo_run.run_demo(console=Console(stream=out)) == 0
    assert str(temp_dir / "sild-demo-") in out.getvalue().replace("\n", "")
    assert list(temp_dir.glob("sild-demo-*")) == []


def test_a_failed_demo_keeps_its_logs_and_says_where(temp_dir, monkeypatch):
    monkeypatch.setattr(_demo_run, "STEPS", (("Fails", "bring_up"),))
    monkeypatch.setattr(Demo, "bring_up", _fail)
    out = io.StringIO()
    assert _demo_run.run_demo(console=Console(stream=out)) == 1
    [kept] = temp_dir.glob("sild-demo-*")
    assert out.getvalue().splitlines()[-1] == f"The logs stay in {kept / 'logs'}; remove {kept} when done."


def test_a_folder_given_with_dir_is_the_callers_and_stays(temp_dir, monkeypatch):
    monkeypatch.setattr(_demo_run, "STEPS", (("Nothing to do", "close"),))
    mine = temp_dir / "mine"
    assert _demo_run.run_demo(directory=mine, console=Console(stream=io.StringIO())) == 0
    assert mine.is_dir()
