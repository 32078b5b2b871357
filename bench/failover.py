"""A gateway cluster's throughput through HAProxy: two nodes versus one, and the CPU each exchange costs.

    .venv/bin/python bench/failover.py [--sandbox DIR] [--seconds 10] [--clients 16] [--warmup 3]

Without ``--sandbox`` a sandbox is started with ``sild sandbox up DIR --cluster 2``
(FI vero's gateway as two nodes behind HAProxy on PostgreSQL, gateway.sandbox._cluster)
and stopped at the end; with it, that running cluster sandbox is measured and left as
found (the drained node is started again).

Each exchange is the lean REST echo of bench/exchange.py: EE tax -> EE gateway ->
mutual TLS through HAProxy (TLS passed through) -> one of FI vero's nodes -> a backend
that costs nearly nothing, and back; signed, verified and logged on both sides, FI's
log on PostgreSQL. The rows:

* ``2 nodes``: both nodes behind the balancer;
* ``1 node``: node 2 drained first (``sild gateway drain``: the balancer's health check
  takes it out, its exchanges finish, it stops), so the same balancer has one node.

Printed per row: exchanges/s, p50/p99 latency, errors, and the CPU milliseconds per
exchange of every process of the sandbox (gateways, HAProxy, PostgreSQL with its
backends), read from ``/proc``. Everything shares this machine's cores -- the load
generator, four gateways, two authorities, trust services, PostgreSQL, HAProxy -- so on
2 cores a second node adds no cores: read the ratio as what the cluster costs, not as
what it scales to (docs/scaling.md does that arithmetic).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import builds  # noqa: E402
import exchange  # noqa: E402
import wrk_load  # noqa: E402

_TICKS = os.sysconf("SC_CLK_TCK")


def _sild(*args: str) -> list[str]:
    return [sys.executable, "-c", "from gateway.cli import main; main()", *args]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "SILD_TOKEN_PIN": "sandbox-pin"}


def _tree_cpu(pid: int | None) -> float:
    """CPU seconds of ``pid`` and everything below it, ended children included (PostgreSQL's backends)."""
    if pid is None:
        return 0.0
    parents: dict[int, int] = {}
    times: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(") ", 1)[1].split()
        except OSError:
            continue
        parents[int(entry.name)] = int(fields[1])
        times[int(entry.name)] = sum(int(f) for f in fields[11:15]) / _TICKS
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        total += times.get(current, 0.0)
        todo += [child for child, parent in parents.items() if parent == current]
    return total


def _cpu(root: Path, state: dict) -> dict[str, float]:
    cpu = builds.process_cpu(root)
    cpu.pop("postgres", None)  # runuser's; the server's tree is read below
    cpu["postgres (tree)"] = _tree_cpu(state["cluster"]["postgres"]["pid"])
    return cpu


def _row(label: str, root: Path, state: dict, base: str, request: exchange.Request, args: argparse.Namespace) -> float:
    generator = "wrk" if wrk_load.available() else "python"
    exchange.measure(generator, base, request, args.clients, args.warmup, 0)  # warm-up, outside the CPU reading
    before = _cpu(root, state)
    rate, p50, p99, errors = exchange.measure(generator, base, request, args.clients, args.seconds, 0)
    spent = builds.cpu_delta(before, _cpu(root, state))
    count = max(1.0, rate * args.seconds)
    print(f"{label:<9}{args.clients:>8}{rate:>10.0f}{p50:>9.2f}{p99:>9.2f}{errors:>8}"
          f"{sum(spent.values()) * 1000 / count:>12.2f}", flush=True)
    parts = sorted(spent.items(), key=lambda kv: -kv[1])
    print(f"{'':<9}  CPU ms/exchange: " + ", ".join(f"{k} {v * 1000 / count:.2f}" for k, v in parts
                                                     if v * 1000 / count >= 0.05), flush=True)
    return rate


def _drain(node: dict) -> None:
    subprocess.run(_sild("gateway", "drain", node["directory"], "--grace", "8"), check=True, env=_env(),
                   cwd=str(ROOT), stdout=subprocess.DEVNULL)


def _start_again(root: Path, node: dict) -> None:
    from gateway.sandbox import _processes as processes

    record = json.loads((root / "pids" / f"{node['process']}.pid").read_text())
    processes.spawn(root, node["process"], record["argv"], env=record.get("env") or {})
    for _ in range(240):
        with contextlib.suppress(OSError):
            import httpx

            if httpx.get(node["health_url"], timeout=2, trust_env=False).status_code == 200:
                return
        time.sleep(0.5)
    print(f"warning: {node['name']} did not come back healthy; see {root / 'logs'}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sandbox", type=Path, default=None, help="a running sandbox made with --cluster 2")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3.0)
    args = parser.parse_args()
    with contextlib.ExitStack() as stack:
        root = args.sandbox or Path(tempfile.mkdtemp(prefix="sild-failover-"))
        if args.sandbox is None:
            print(f"starting a cluster sandbox in {root} ...", flush=True)
            subprocess.run(_sild("sandbox", "up", str(root), "--cluster", "2"), check=True, env=_env(),
                           cwd=str(ROOT), stdout=subprocess.DEVNULL)
            stack.callback(builds.sandbox_down, ROOT, root)
            builds.settle()
        state = json.loads((root / "sandbox.json").read_text())
        if "cluster" not in state:
            parser.error(f"{root} is not a cluster sandbox (sild sandbox up DIR --cluster 2)")
        lean, lean_proc = exchange.start_lean_backend()
        stack.callback(lambda: (lean_proc.terminate(), lean_proc.wait()))
        exchange.register_lean(state, lean)
        _name, (base, request), _direct = exchange.cases(state, lean)[1]  # REST echo (lean)
        print(exchange.machine_speed(), f"; {os.cpu_count()} cores", flush=True)
        print(f"{'nodes':<9}{'clients':>8}{'exch/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'errors':>8}{'CPU ms/ex':>12}")
        two = _row("2 nodes", root, state, base, request, args)
        node2 = state["cluster"]["nodes"][1]
        _drain(node2)
        one = _row("1 node", root, state, base, request, args)
        print(f"2 nodes / 1 node: {two / one if one else float('nan'):.2f}x", flush=True)
        if args.sandbox is not None:
            _start_again(root, node2)


if __name__ == "__main__":
    main()
