"""How long an authority is without a generating node when that node is killed (issue 19).

    .venv/bin/python bench/central_failover.py [--rounds 5] [--check-interval 5]

Starts a throw-away PostgreSQL (``tests/pgserver.py``), two ``sild central serve``
nodes on it (``node-init``: one registry, one token), and then, round after round,
kills the node that holds the generation lease with SIGKILL, adds a member through the
other node's directory, and prints three times measured from the kill: when PostgreSQL
freed the lease (it ends the dead session), when the surviving node held it (its next
tick, so at most ``--check-interval`` later), and when the survivor published a
generation with the change. The killed node is restarted, and the next round kills the
other one. The figures depend on the check interval and on how busy the machine is;
the serving of distribution never stops (the survivor serves throughout).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine  # noqa: E402

from federation.central import GENERATION_LEASE  # noqa: E402
from federation.central.registry import init_central, init_node  # noqa: E402
from tests.federation.central.central_support import PIN, CentralProcess, free_port, sild  # noqa: E402
from tests.pgserver import start_postgres  # noqa: E402
from trust.infra import Lease  # noqa: E402


def _serial(directory: Path) -> int:
    return int(json.loads((directory / "public" / "generation.json").read_bytes())["serial"])


def _rounds(nodes: dict[Path, CentralProcess], ports: dict[Path, int], holder: Lease, rounds: int,
            interval: float) -> list[tuple[float, float, float]]:
    figures = []
    for n in range(rounds):
        time.sleep(interval * 1.5)  # both nodes settled
        name = holder.holder() or ""
        killed = next(d for d, node in nodes.items() if f"pid {node.process.pid}" in name)
        survivor = next(d for d in nodes if d != killed)
        before = _serial(survivor)
        start = time.monotonic()
        os.kill(nodes[killed].process.pid, signal.SIGKILL)
        nodes[killed].process.wait()
        change = threading.Thread(target=sild, args=("central", "member", "add", str(survivor), "--member",
                                                     f"EE/GOV/7{n:07d}", "--name", f"member {n}"))
        change.start()  # a CLI process (~1 s to start on a busy machine) while the lease is watched
        freed = taken = None
        while True:
            name = holder.holder() or ""
            now = time.monotonic() - start
            if freed is None and f"pid {nodes[killed].process.pid}" not in name:
                freed = now
            if taken is None and f"pid {nodes[survivor].process.pid}" in name:
                taken = now
            if taken is not None and _serial(survivor) > before:
                figures.append((freed or 0.0, taken, now))
                break
            if not change.is_alive() and _serial(survivor) <= before and now > 120:
                raise SystemExit("the survivor did not publish the change within 120 s")
            time.sleep(0.02)
        print(f"  round {n + 1}: lease freed {freed:5.2f} s, taken by the survivor {taken:5.2f} s, "
              f"change published {figures[-1][2]:5.2f} s after the kill", flush=True)
        nodes[killed].stop()
        nodes[killed] = CentralProcess(killed, ports[killed], check_interval=interval).wait_ready()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--check-interval", type=float, default=5.0)
    args = parser.parse_args()
    server = start_postgres()
    if server is None:
        raise SystemExit("needs PostgreSQL's binaries (make test installs them)")
    engine = create_engine(server.url)
    nodes: dict[Path, CentralProcess] = {}
    try:
        with tempfile.TemporaryDirectory(prefix="sild-failover-") as tmp:
            a, b = Path(tmp) / "cs1", Path(tmp) / "cs2"
            ports = {a: free_port(), b: free_port()}
            init_central(str(a), instance="EE", url=f"http://127.0.0.1:{ports[a]}", pin=PIN,
                         now=dt.datetime.now(dt.timezone.utc), database_url=server.url)
            init_node(str(b), url=f"http://127.0.0.1:{ports[b]}", database_url=server.url, token_dir=a / "token")
            for directory in (a, b):
                nodes[directory] = CentralProcess(directory, ports[directory],
                                                  check_interval=args.check_interval).wait_ready()
            print(f"two authority nodes, check interval {args.check_interval} s, {args.rounds} rounds")
            figures = _rounds(nodes, ports, Lease(engine, GENERATION_LEASE), args.rounds, args.check_interval)
            for i, what in enumerate(("lease freed", "taken by the survivor", "change published")):
                values = [f[i] for f in figures]
                print(f"{what:<22} median {statistics.median(values):5.2f} s, max {max(values):5.2f} s")
    finally:
        for node in nodes.values():
            node.stop()
        engine.dispose()
        server.stop()


if __name__ == "__main__":
    main()
