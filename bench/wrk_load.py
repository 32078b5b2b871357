"""wrk as the bench's load generator: the calls of a case as a Lua script, the figures back.

Why wrk: the load generator shares the two cores with what it measures. A Python
generator (``http.client`` in threads, :func:`exchange.run`) costs ~0.3 ms of CPU per
call, and its threads queue for one interpreter lock while the gateways keep both
cores busy. wrk (Debian package ``wrk``, C, one epoll thread) costs a few
microseconds per call and re-sends the moment an answer arrives. It runs
closed-loop, like the Python generator: each connection is one client, with one
call in flight.

A case is a :class:`Request`. Requests with a fixed body go out as wrk's prebuilt
request; a SOAP request gets a fresh ``<xrd:id>`` per call from the script's
``request()`` function (run id + counter), as an information system would send.
The script's ``done()`` prints one line, ``SILD-WRK`` and the figures, which
:func:`parse_summary` reads; nothing of wrk's human-readable report is parsed.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

MARKER = "SILD-WRK"
ID_PLACEHOLDER = "@@QUERY-ID@@"


class WrkError(RuntimeError):
    """wrk is missing, failed, or printed no summary."""


@dataclass(frozen=True)
class Request:
    """One call of a case: what both load generators send.

    ``body`` may hold :data:`ID_PLACEHOLDER` once (a SOAP message): each call then
    replaces it with a fresh message id."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None

    def body_for(self, query_id: str) -> bytes | None:
        if self.body is None or ID_PLACEHOLDER.encode() not in self.body:
            return self.body
        return self.body.replace(ID_PLACEHOLDER.encode(), query_id.encode())


@dataclass(frozen=True)
class Summary:
    """What one wrk run measured. Latencies in milliseconds."""

    answered: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(text: str) -> str:
    """A quoted Lua string of ``text``'s UTF-8 bytes: printable ASCII as is, every other byte,
    quote and backslash as a decimal escape (``\\ddd``), so no content can end it early."""
    out = []
    for byte in text.encode("utf-8"):
        if 0x20 <= byte < 0x7F and byte not in (0x22, 0x5C):
            out.append(chr(byte))
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_script(request: Request, run_id: str) -> str:
    """The wrk script for ``request``: static when the body is fixed, per call when it carries an id."""
    lines = [f"wrk.method = {_lua_string(request.method)}"]
    for name, value in request.headers.items():
        lines.append(f"wrk.headers[{_lua_string(name)}] = {_lua_string(value)}")
    body = request.body.decode("utf-8") if request.body is not None else None
    if body is not None and ID_PLACEHOLDER in body:
        head, _, tail = body.partition(ID_PLACEHOLDER)
        lines += [
            f"local head, tail = {_lua_string(head)}, {_lua_string(tail)}",
            f"local prefix = {_lua_string(run_id + '-')}",
            f"local path = {_lua_string(request.path)}",
            "local counter = 0",
            "request = function()",
            "  counter = counter + 1",
            "  return wrk.format(nil, path, nil, head .. prefix .. counter .. tail)",
            "end",
        ]
    else:
        lines.append(f"wrk.path = {_lua_string(request.path)}")
        if body is not None:
            lines.append(f"wrk.body = {_lua_string(body)}")
    lines += [
        "done = function(summary, latency, requests)",
        "  local e = summary.errors",
        f'  io.write(string.format("{MARKER} %d %d %d %d %d %d %d %d %d\\n",',
        "    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,",
        "    latency:percentile(50), latency:percentile(99)))",
        "end",
    ]
    return "\n".join(lines) + "\n"


def parse_summary(output: str) -> Summary:
    """The figures of the ``done()`` line: answered calls (2xx/3xx), run time, p50/p99, errors."""
    for line in output.splitlines():
        if line.startswith(MARKER + " "):
            fields = line.split()[1:]
            if len(fields) != 9:
                raise WrkError(f"wrk summary has {len(fields)} fields, expected 9: {line!r}")
            requests, duration_us, connect, read, write, status, timeout, p50_us, p99_us = (int(float(f)) for f in fields)
            return Summary(
                answered=requests - status, seconds=duration_us / 1e6,
                p50_ms=p50_us / 1000, p99_ms=p99_us / 1000,
                errors=connect + read + write + status + timeout,
            )
    raise WrkError(f"wrk printed no {MARKER} line: {output[-500:]!r}")


def run(base: str, request: Request, clients: int, seconds: float, warmup: float = 2.0) -> Summary:
    """``clients`` kept-alive connections calling ``request`` for ``seconds``, after ``warmup``
    seconds of the same load that are not counted (connections, caches, batches)."""
    if not available():
        raise WrkError("wrk is not installed (Debian package wrk; `make bench` installs it)")
    parts = urlsplit(base)
    url = f"{parts.scheme}://{parts.netloc}"
    prefixed = replace(request, path=parts.path.rstrip("/") + request.path)
    with tempfile.TemporaryDirectory() as tmp:
        script = f"{tmp}/case.lua"
        with open(script, "w", encoding="utf-8") as fh:
            fh.write(lua_script(prefixed, uuid.uuid4().hex[:12]))
        if warmup > 0:
            _wrk(url, script, clients, warmup)
        return parse_summary(_wrk(url, script, clients, seconds))


def _wrk(url: str, script: str, clients: int, seconds: float) -> str:
    # one wrk thread: it drives a thousand calls a second on a fraction of one core,
    # and a second thread would only take CPU from the gateways
    cmd = ["wrk", "-t1", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "30s", "-s", script, url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    if done.returncode != 0:
        raise WrkError(f"wrk exited with {done.returncode}: {done.stderr.strip()[-300:]}")
    return done.stdout
