"""The demo waits in one line: a counter rewritten on a terminal, one final line in a log."""

from __future__ import annotations

import io

from gateway.sandbox._console import Console


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_a_wait_in_a_log_is_one_line_with_the_count():
    out = io.StringIO()
    console = Console(stream=out)
    with console.waiting("waiting for the gateway") as tick:
        for _ in range(15):
            tick()
    lines = out.getvalue().splitlines()
    assert len(lines) == 1 and lines[0].startswith("    ... waiting for the gateway: 15 tries, ")
    assert "\r" not in out.getvalue()


def test_a_wait_on_a_terminal_rewrites_its_line():
    out = _Terminal()
    console = Console(stream=out, colour=False)
    with console.waiting("waiting for the gateway") as tick:
        tick()
        tick()
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")
    assert text.count("\r") == 3  # two ticks, then the final count over them
    assert "(2)" in text and "2 tries" in text.rsplit("\r", 1)[1]


def test_a_wait_that_needed_no_try_prints_nothing():
    out = io.StringIO()
    with Console(stream=out).waiting("waiting"):
        pass
    assert out.getvalue() == ""
