"""Client CPU per kept-alive mutual-TLS request: httpx versus the gateway's own pool.

    .venv/bin/python bench/http_client.py [--requests 3000] [--body 2048]

The server is the gateway's own mutual-TLS cheroot server (``gateway.net._servers``) on
127.0.0.1, answering a small body, either as ``application/octet-stream`` or, like a
transport message, as ``multipart/mixed`` with a fresh boundary (``--answer``); the
client POSTs ``--body`` bytes on one kept-alive connection. Measured is the CPU time of the client thread only
(``time.thread_time``), so the server's work in other threads does not count.
Rows:

* ``httpx.Client``: httpx with an explicit mutual-TLS context, ``trust_env=False``
  (what the gateway used before; its httpcore pool had one more wrapper layer);
* ``HttpPool``: :class:`gateway.net._http_pool.HttpPool` (``http.client`` plus pooling);
* ``PeerTransport``: the gateway-to-gateway transport over that pool (peer check,
  error mapping), what the client proxy calls per exchange;
* ``http.client``: one bare ``HTTPSConnection``, the floor.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import http.client
import statistics
import ssl
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

from gateway.net import HttpPool
from gateway.net import PeerTransport, client_ssl_context, server_ssl_context
from gateway.net import WsgiServer


def _pki(directory: Path) -> dict[str, Path]:
    """A CA and two TLS identities (server, client) as plain PEM files."""
    now = dt.datetime.now(dt.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(1).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .sign(ca_key, hashes.SHA256()))
    out = {"ca": directory / "ca.pem"}
    out["ca"].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    for name in ("server", "client"):
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
                .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                      ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                .sign(ca_key, hashes.SHA256()))
        out[name] = directory / f"{name}.pem"
        out[name].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        out[name + "_key"] = directory / f"{name}.key"
        out[name + "_key"].write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return out


def _app(environ: dict, start_response: Callable) -> list[bytes]:
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    if environ.get("PATH_INFO") == "/multipart":  # as a transport message: a fresh boundary each time
        ctype = f"multipart/mixed; charset=UTF-8; boundary=xroad{uuid.uuid4().hex}"
    else:
        ctype = "application/octet-stream"
    start_response("200 OK", [("Content-Type", ctype), ("Content-Length", "32")])
    return [hashlib.sha256(body).digest()]


def _measure(name: str, call: Callable[[], bytes], n: int, expect: bytes) -> float:
    for _ in range(50):  # connection set up, caches warm
        if call() != expect:
            raise SystemExit(f"{name}: wrong answer")
    runs = []
    for _ in range(3):
        start = time.thread_time()
        for _ in range(n):
            call()
        runs.append((time.thread_time() - start) / n * 1e6)
    best = min(runs)
    print(f"{name:<16} {best:8.0f} us CPU/request   (runs: {', '.join(f'{r:.0f}' for r in runs)})", flush=True)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--body", type=int, default=2048)
    ap.add_argument("--answer", choices=("multipart", "octet"), default="multipart")
    args = ap.parse_args()
    body = b"x" * args.body
    headers = {"Content-Type": "application/octet-stream", "X-Road-Request-Id": "bench"}
    expect = hashlib.sha256(body).digest()
    with tempfile.TemporaryDirectory() as tmp:
        files = _pki(Path(tmp))
        ca_pem = files["ca"].read_bytes()
        server_ctx = server_ssl_context(str(files["server"]), str(files["server_key"]), None, ca_pem)
        server = WsgiServer(_app, ssl_context=server_ctx, threads=4).start()
        path = "/multipart" if args.answer == "multipart" else "/"
        url = f"https://127.0.0.1:{server.port}{path}"
        server_hash = hashlib.sha256(ssl.PEM_cert_to_DER_cert(files["server"].read_text())).digest()

        def ctx() -> ssl.SSLContext:
            return client_ssl_context(str(files["client"]), str(files["client_key"]), None)

        print(f"client CPU per kept-alive mutual-TLS POST of {args.body} bytes, {args.answer} answers, "
              f"{args.requests} requests x 3")
        results = {}
        try:
            import httpx

            with httpx.Client(verify=ctx(), trust_env=False) as client:
                def via_httpx() -> bytes:
                    return client.post(url, headers=headers, content=body).content
                results["httpx"] = _measure("httpx.Client", via_httpx, args.requests, expect)

            pool = HttpPool(ssl_context=ctx())
            results["pool"] = _measure(
                "HttpPool", lambda: pool.request("POST", url, headers=headers, body=body).content, args.requests, expect)
            pool.close()

            transport = PeerTransport(ctx())
            transport.allow("127.0.0.1", server.port, [server_hash])
            results["peer"] = _measure(
                "PeerTransport", lambda: transport.post(url, headers=headers, content=body).content, args.requests, expect)
            transport.close()

            conn = http.client.HTTPSConnection("127.0.0.1", server.port, context=ctx())

            def bare() -> bytes:
                conn.request("POST", path, body=body, headers=headers)
                return conn.getresponse().read()
            results["bare"] = _measure("http.client", bare, args.requests, expect)
            conn.close()
        finally:
            server.stop()
        print(f"PeerTransport saves {results['httpx'] - results['peer']:.0f} us of client CPU per request "
              f"({results['httpx'] / results['peer']:.1f}x less); median of rows "
              f"{statistics.median(results.values()):.0f} us")


if __name__ == "__main__":
    main()
