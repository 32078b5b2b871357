"""How the demo talks to a person: numbered steps, timings, a summary table.

Plain language, 80 columns, colour only when the output is a terminal (and never
when ``NO_COLOR`` is set), so the same text reads well in a CI log. Kept apart
from the demo's logic so the steps stay readable and the tests can capture output.
"""

from __future__ import annotations

import os
import sys
import textwrap
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Iterator, TextIO

WIDTH = 80

_COLOURS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2", "cyan": "36"}


@dataclass
class StepResult:
    number: int
    title: str
    ok: bool = False
    seconds: float = 0.0
    outcome: str = ""


@dataclass
class Console:
    """Writes the demo's story; ``colour=None`` decides from the stream."""

    stream: TextIO = field(default_factory=lambda: sys.stdout)
    colour: bool | None = None
    results: list[StepResult] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.colour is None:
            isatty = getattr(self.stream, "isatty", lambda: False)
            self.colour = bool(isatty()) and "NO_COLOR" not in os.environ

    # -- low level --------------------------------------------------------------
    def paint(self, text: str, colour: str) -> str:
        if not self.colour:
            return text
        return f"\x1b[{_COLOURS[colour]}m{text}\x1b[0m"

    def line(self, text: str = "", *, indent: int = 0) -> None:
        if not text:
            self.stream.write("\n")
        else:
            prefix = " " * indent
            for wrapped in textwrap.wrap(text, WIDTH - indent, break_on_hyphens=False) or [""]:
                self.stream.write(prefix + wrapped + "\n")
        self.stream.flush()

    def raw(self, text: str) -> None:
        """A line printed as it is (commands to paste must not be re-wrapped)."""
        self.stream.write(text + "\n")
        self.stream.flush()

    def detail(self, label: str, value: str) -> None:
        """An aligned ``label: value`` line under a step."""
        head = f"    {label:<18} "
        lines = textwrap.wrap(value, WIDTH - len(head), break_on_hyphens=False) or [""]
        self.stream.write(head + lines[0] + "\n")
        for more in lines[1:]:
            self.stream.write(" " * len(head) + more + "\n")
        self.stream.flush()

    def progress(self, text: str) -> None:
        self.stream.write("    " + self.paint("... " + text, "dim") + "\n")
        self.stream.flush()

    @contextmanager
    def waiting(self, text: str) -> Iterator[Callable[[], None]]:
        """A wait shown as one line with a counter; yields the function that counts one more try.

        On a terminal the line is rewritten in place (carriage return) at every try; in
        a log (not a terminal) only the final count is written, so a CI log gets one
        line however long the wait.
        """
        tries = 0
        live = bool(getattr(self.stream, "isatty", lambda: False)())
        started = time.monotonic()

        def tick() -> None:
            nonlocal tries
            tries += 1
            if live:
                self.stream.write("\r    " + self.paint(f"... {text} ({tries})", "dim"))
                self.stream.flush()

        try:
            yield tick
        finally:
            if tries:
                final = f"... {text}: {tries} {'try' if tries == 1 else 'tries'}, {time.monotonic() - started:.1f} s"
                self.stream.write(("\r" if live else "") + "    " + self.paint(final, "dim") + "\n")
                self.stream.flush()

    def title(self, text: str) -> None:
        self.line(self.paint(text, "bold"))
        self.line(self.paint("=" * min(len(text), WIDTH), "bold"))

    # -- steps ------------------------------------------------------------------
    @contextmanager
    def step(self, title: str) -> Iterator[StepResult]:
        """Run one numbered step; failures are recorded and re-raised."""
        result = StepResult(number=len(self.results) + 1, title=title)
        self.results.append(result)
        self.line()
        self.line(self.paint(f"Step {result.number}. {title}", "cyan"))
        started = time.monotonic()
        try:
            yield result
        except BaseException as exc:
            result.seconds = time.monotonic() - started
            result.ok = False
            result.outcome = result.outcome or _one_line(exc)
            self.line(self.paint(f"    FAILED after {result.seconds:.1f} s: {result.outcome}", "red"))
            raise
        result.seconds = time.monotonic() - started
        result.ok = True
        self.line(self.paint(f"    ok ({result.seconds:.1f} s)", "green"))

    def summary(self) -> None:
        self.line()
        self.line(self.paint("Summary", "bold"))
        header = f"  {'#':>2}  {'step':<52} {'result':<8} {'time':>7}"
        self.line(header)
        self.line("  " + "-" * (WIDTH - 6))
        for r in self.results:
            mark = self.paint("ok", "green") if r.ok else self.paint("FAILED", "red")
            pad = 8 - (2 if r.ok else 6)
            title = r.title if len(r.title) <= 52 else r.title[:49] + "..."
            self.stream.write(f"  {r.number:>2}  {title:<52} {mark}{' ' * pad} {r.seconds:>6.1f}s\n")
        self.stream.flush()


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    message = text[0] if text else type(exc).__name__
    return message if len(message) <= 200 else message[:197] + "..."
