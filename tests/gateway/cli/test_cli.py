"""The ``sild`` entry point: every package's group is there, errors are one line."""

from __future__ import annotations

import pytest

from gateway.cli._main import main


def _run(capsys, *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_every_group_is_registered(capsys):
    code, out, _ = _run(capsys, "--help")
    assert code == 0
    for group in ("trust", "asic", "central", "conf", "adapter", "gateway", "sandbox", "demo"):
        assert f"\n  {group} " in out, group


def test_sild_errors_are_one_line_with_their_code(capsys, tmp_path):
    anchor = tmp_path / "anchor.xml"
    anchor.write_bytes(b"not an anchor")
    code, out, err = _run(capsys, "conf", "fingerprint", str(anchor))
    assert code == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sild: error: ")
    assert lines[0].endswith("[federation.conf.anchor_invalid]")
    assert "Traceback" not in err + out


def test_version(capsys):
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and "0.1.0" in out
