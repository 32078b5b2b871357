"""docs/quickstart.md is held to the real output: the matching itself, and the page's shape.

The run against real demos is in ``tests/gateway/sandbox/test_demo.py`` (slow): it hands
its two demos' output and its kept network to :mod:`tests.support.quickstart`. Here the
matcher is shown to catch the drift that had crept in (a renamed line, a process count)
and to let through what differs per run.
"""

from __future__ import annotations

from tests.support.quickstart import (DOC_DIR, comment_pairs, explore_blocks, missing_lines, section)

REAL = """\
Everything runs on 127.0.0.1 in /tmp/pytest-7/one.
    ... started trust-EE (1 s)
    EE authority       http://127.0.0.1:28094
    EE anchor SHA-224  B9:49:8A:0C:13:90:BA:F4:29:39:60:F6:BB:44:
                       9C:DD:D1:BA:81:18:CA:DC:73:AB:0A:73:D0:DD
    EE tax -> FI vero  HTTP 200 in 35 ms
    ok (12.1 s)
   1  Two national instances come up: EE and FI, federated ok         12.1s
      signed at        2026-12-06T02:27:53.968000+00:00
      message          1108 bytes, sha512 188e8a71fbf80d4a7c0f1c41ab95867b...
X-Road-Id: EE-d65317c8-069e-47b5-9bb0-9c78cf34b496
Stopped 10 processes; nothing is left running.
"""


def test_what_differs_per_run_matches() -> None:
    sample = """\
Everything runs on 127.0.0.1 in /tmp/sild-demo-k2x0v1lq.
    ... started trust-EE (3 s)
    ...
    EE authority       http://127.0.0.1:36503
    EE anchor SHA-224  26:6F:6D:E7:B4:B6:38:6E:77:85:DE:CB:26:D5:
                       41:52:21:8D:AD:74:6A:57:70:53:A6:E8:F0:AE
    EE tax -> FI vero  HTTP 200 in 83 ms
    ok (21.1 s)
   1  Two national instances come up: EE and FI... ok         21.1s
      signed at        2026-11-27T09:11:59.842000+00:00
      message          203 bytes, sha512 7503c4a7ce2e5a46afae9bbbf59805a7...
X-Road-Id: EE-67d47a35-2600-4500-bbf5-6899d1d6f27c
Stopped 10 processes; nothing is left running.
"""
    assert missing_lines(sample, REAL) == []


def test_a_line_wrapped_at_80_columns_matches() -> None:
    real = "Details: /tmp/pytest-of-root/pytest-12/test_two_demos_at_once_pass_every_step_a\nnd_leave/two/sandbox.json\n"
    assert missing_lines("Details: /tmp/sbx/sandbox.json", real,
                         "/tmp/pytest-of-root/pytest-12/test_two_demos_at_once_pass_every_step_and_leave/two") == []


def test_drift_in_labels_and_counts_is_caught() -> None:
    sample = """\
    EE external anchor SHA-224 26:6F:6D:E7:B4:B6:38:6E:77:85:DE:CB:26:D5:41:52:2
Stopped 9 processes; nothing is left running.
content-type: application/json
"""
    assert missing_lines(sample, REAL + "Content-Type: application/json\n") == sample.splitlines()


def test_json_shown_in_comments_is_checked_pair_by_pair() -> None:
    script = """curl -s $EE_TAX/r1/FI/GOV/0245437-2/vero/income/1
# {"type": "client.missing_header", "message": "the X-Road-Client header is
#  required", "detail": "..."}
"""
    assert comment_pairs(script) == ['"type": "client.missing_header"',
                                     '"message": "the X-Road-Client header is required"']


def test_the_explore_section_starts_and_stops_the_network_the_demo_test_keeps() -> None:
    """The demo test runs ``sild demo --dir D --keep`` and ``sild sandbox down D``: the page's own commands."""
    start, steps, stop = explore_blocks()
    assert start.text.strip() == f".venv/bin/sild demo --keep --dir {DOC_DIR}"
    assert stop.text.strip() == f".venv/bin/sild sandbox down {DOC_DIR}"
    assert steps[0].lang == "" and "The network keeps running." in steps[0].text
    assert sum(b.lang == "sh" for b in steps) >= 5


def test_the_demo_section_shows_a_sample_that_ends_with_the_stop_line() -> None:
    sample = next(b for b in section("2.") if b.lang == "")
    assert sample.text.splitlines()[-1].startswith("Stopped ")
    assert "Summary" in sample.text
