"""Running ``sild demo``: the steps in order, signals, the summary and the clean-up.

:mod:`._demo` tells the story (what each step calls and checks); this module is the
harness around it, whose promise is that whatever happens (success, a failed step,
Ctrl-C, SIGTERM) everything the demo started is stopped, unless ``keep`` asks to
leave the network running, and the exit code says how it went (0, 1, or 130). The
temporary folder a demo makes for itself (no ``directory`` given) is removed with it.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from ._console import Console
from ._demo import MATTI_FI, TAX, Demo
from ._hints import sild_hint


STEPS = (
    ("Two national instances come up: EE and FI, federated", "bring_up"),
    ("Discovery: EE tax lists FI's members and its rights", "discovery"),
    ("Cross-border SOAP: EE tax reads a FI tax record", "cross_border_soap"),
    ("Cross-border REST: FI vero reads an EE person", "cross_border_rest"),
    ("The data owner decides: the bank is refused", "data_owner_decides"),
    ("No single point of failure", "no_single_point_of_failure"),
    ("Evidence: the exchange of step 3 as ASiC-E", "evidence"),
)
TRACKER_STEP = ("Data tracker: who read a FI person's tax record", "tracker")  # sild demo --tracker


def run_demo(*, keep: bool = False, directory: Path | None = None, console: Console | None = None,
             timeout: float = 120.0, tracker: bool = False) -> int:
    """Run every step; returns the exit code (0 when every step held)."""
    from gateway.sandbox import down

    console = console or Console()
    created = directory is None  # a folder of our own making is removed at the end (unless kept)
    root = directory or Path(tempfile.mkdtemp(prefix="sild-demo-"))
    root.mkdir(parents=True, exist_ok=True)
    demo = Demo(root, console, timeout=timeout, keep=keep)
    previous = signal.getsignal(signal.SIGTERM)
    previous_int = signal.getsignal(signal.SIGINT)

    def _terminate(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _terminate)
    console.title("sild demo: two federated countries exchanging data")
    console.line(f"Everything runs on 127.0.0.1 in {root}.")
    failed = interrupted = False
    try:
        for title, method in STEPS + ((TRACKER_STEP,) if tracker else ()):
            with console.step(title):
                getattr(demo, method)()
    except KeyboardInterrupt:
        failed = interrupted = True
        console.line("Interrupted.")
    except Exception:  # noqa: BLE001 - the step already printed why; stop everything below
        failed = True
    finally:
        on_main = threading.current_thread() is threading.main_thread()
        if on_main:  # a second Ctrl-C must not cut the clean-up short
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        try:
            demo.close()
            try:
                console.summary()
                if keep and not failed:
                    _print_explore(console, demo.state, root)
            except OSError:
                pass  # the terminal or pipe is gone; the clean-up below still runs
        finally:
            try:
                if not (keep and not failed):
                    stopped = down(root)
                    try:
                        console.line(f"Stopped {len(stopped)} processes; nothing is left running.")
                        if not failed:  # the web UIs went with them; say how to keep them
                            console.line("The web UIs stopped with them; this command leaves them running:")
                            console.raw("  " + sild_hint("demo", "--keep"))
                        if created:
                            _remove_or_keep_for_logs(console, root, keep_logs=failed and not interrupted)
                    except OSError:
                        pass
            finally:
                if on_main:
                    signal.signal(signal.SIGINT, previous_int)
                    signal.signal(signal.SIGTERM, previous)
    if interrupted:
        return 130
    return 1 if failed else 0


def _print_explore(console: Console, state: dict[str, Any], root: Path) -> None:
    """Ready-to-paste commands, each line at most 80 columns (continued with a backslash)."""
    tax_gw = next(g["is_url"] for g in state["gateways"] if TAX.to_text() in g["clients"])
    console.line()
    console.line("The network keeps running. Try (EE tax's gateway):")
    for command in (
        [f"curl -s '{tax_gw}/listClients?xRoadInstance=FI' \\", "     -H 'Accept: application/json'"],
        [f"curl -s {tax_gw}/r1/FI/GOV/0245437-2/vero/income/{MATTI_FI} \\",
         f"     -H 'X-Road-Client: {TAX.to_text()}'"],
        [f"curl -sG {tax_gw}/wsdl -d xRoadInstance=FI -d memberClass=GOV \\",
         "     -d memberCode=0245437-2 -d subsystemCode=vero \\",
         "     -d serviceCode=getTaxRecord -d version=v1"],
    ):
        console.line()
        for text in command:
            console.raw("  " + text)
    _print_uis(console, state)
    console.line()
    console.line(f"Details: {root / 'sandbox.json'}")
    console.raw(f"Stop it: {sild_hint('sandbox', 'down', root)}")


def _print_uis(console: Console, state: dict[str, Any]) -> None:
    """Where to look in a browser: every gateway's and authority's admin web UI, and the
    sandbox's login to them (its password made for this sandbox, in ``sandbox.json``)."""
    if not state.get("ui"):
        return
    console.line()
    console.line("Or look in a browser (self-signed certificates: accept them once). The admin web UIs:")
    for gateway in state["gateways"]:
        console.raw(f"  gateway {gateway['id']:<22} {gateway['ui_url']}")
    for name, instance in state["instances"].items():
        console.raw(f"  authority {name:<20} {instance['ui_url']}")
    console.raw(f"Sign in as {state['ui']['user']}, password {state['ui']['password']}")


def _remove_or_keep_for_logs(console: Console, root: Path, *, keep_logs: bool) -> None:
    """The demo's temporary folder goes (a run leaves nothing behind), except after a
    failed step: then its logs are what explains the failure, so the folder stays and
    the last line says where it is."""
    if keep_logs:
        console.raw(f"The logs stay in {root / 'logs'}; remove {root} when done.")
        return
    shutil.rmtree(root, ignore_errors=True)
