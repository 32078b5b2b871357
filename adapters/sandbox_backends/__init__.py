"""Sample legacy systems and the adapters that make them exchange services.

Three registers with fixed, fictitious data (see :mod:`.data`):

* ``population``: the Estonian population register, a SOAP 1.1 RPC/encoded service
  (:mod:`.population`), wrapped by ``population.yaml`` as ``getPerson`` v1 (SOAP,
  answer signed with XML-DSig) and ``persons`` (REST);
* ``vero``: the Finnish tax administration, plain XML over HTTP (:mod:`.vero`),
  wrapped by ``vero.yaml`` as ``getTaxRecord`` v1 (SOAP) and ``income`` (REST);
* ``dvv``: Finnish population information, already REST/JSON (:mod:`.dvv`), served
  directly: ``GET /residents/{personCode}``.

:func:`start_all` starts every backend and adapter on free loopback ports in this
process and returns their URLs; the caller stops them with ``close()``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Mapping

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from trust.keys import Signer, write_atomic

from adapters.definition import AdapterDefinition, parse_definition
from adapters.provider import SigningMaterial
from adapters.serving import WsgiServer

ADAPTED = ("population", "vero")


def definition_text(name: str, backend_url: str) -> str:
    """The packaged adapter definition ``name``.yaml with its backend URL filled in."""
    text = resources.files(__name__).joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return text.replace("{{backend_url}}", backend_url)


def load_sandbox_definition(name: str, backend_url: str, public_url: str | None = None) -> AdapterDefinition:
    """Parse a packaged definition; relative XSLT paths resolve inside this package."""
    text = definition_text(name, backend_url)
    if public_url:
        text = text.replace("adapter:\n", f"adapter:\n  public_url: {public_url}\n", 1)
    source = Path(str(resources.files(__name__).joinpath(f"{name}.yaml")))
    return parse_definition(text, source=source)


def service_description(document: bytes, service_url: str) -> bytes:
    """An OpenAPI description re-rooted at one service's URL, as a gateway registers it.

    A gateway forwards ``/r1/{client}/{service}/rest/of/path`` to the service URL plus
    ``/rest/of/path``, and an OpenAPI service's endpoints are those remaining paths. An
    adapter describes all its REST operations under its ``/rest`` base (``/persons/{personCode}``);
    the sandbox registers each as its own service (``persons`` at ``.../rest/persons``).
    So the paths under the service URL are kept, cut to what follows it, and the server
    URL becomes the service URL. A description whose server URL already is the service URL
    (DVV's) passes through unchanged but for formatting.
    """
    data = json.loads(document)
    servers = [s.get("url", "") for s in data.get("servers") or [] if isinstance(s, dict)]
    base = servers[0].rstrip("/") if servers else ""
    if not service_url.startswith(base):
        raise ValueError(f"service URL {service_url} is not under the description's server {base!r}")
    prefix = service_url[len(base):].rstrip("/")
    paths: dict[str, Any] = {}
    for path, item in (data.get("paths") or {}).items():
        if path == prefix or path.startswith(prefix + "/"):
            paths[path[len(prefix):] or "/"] = item
    data["servers"] = [{"url": service_url}]
    data["paths"] = paths
    return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8")


def backend_app(name: str) -> Any:
    from adapters.sandbox_backends import dvv, population, vero

    return {"population": population.app, "vero": vero.app, "dvv": dvv.app}[name]


def _standalone_definition(name: str, backend_url: str, key_id: str, signer: Signer, chain: Path) -> bytes:
    """The definition as a file that works anywhere: absolute stylesheet paths, a signing section."""
    package = Path(str(resources.files(__name__)))
    text = definition_text(name, backend_url)
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("xslt: "):
            text = text.replace(line, line.replace(stripped, f"xslt: {package / stripped[len('xslt: '):]}"))
    directory = getattr(signer, "directory", None)  # a SoftToken; other signers need their own section
    if name == "population" and directory is not None:
        text += (f"\nsigning:\n  key_id: {key_id}\n  certificate: {chain}\n"
                 f"  token:\n    directory: {directory}\n    pin_env: SILD_TOKEN_PIN\n")
    return text.encode("utf-8")


@dataclass
class SandboxServers:
    """Running sandbox servers. ``urls[name]`` is what a gateway registers as the service URL base:

    * ``urls['population']``, ``urls['vero']``: the adapter base URLs (SOAP at ``/soap``, WSDL at
      ``/wsdl``, REST at ``/rest``, e.g. ``/rest/persons/{code}``, ``/rest/income/{code}``);
    * ``urls['dvv']``: the REST backend itself (``/residents/{code}``);
    * ``backend_urls[name]``: the raw legacy backends;
    * ``workdir``: where ``population.yaml``/``vero.yaml`` (usable with ``sild adapter serve``) were written.
    """

    urls: dict[str, str] = field(default_factory=dict)
    backend_urls: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    _servers: list[WsgiServer] = field(default_factory=list)
    _apps: list[Any] = field(default_factory=list)

    def __getitem__(self, name: str) -> str:
        return self.urls[name]

    def close(self) -> None:
        for server in reversed(self._servers):
            server.stop()
        for app in self._apps:
            app.extensions["sild.adapter"].close()
        self._servers.clear()
        self._apps.clear()

    def __enter__(self) -> "SandboxServers":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def start_all(
    workdir: Path | str,
    signer: Signer,
    key_id: str,
    cert_chain: Iterable[x509.Certificate],
    *,
    host: str = "127.0.0.1",
    ports: Mapping[str, int] | None = None,
) -> SandboxServers:
    """Start the three backends and the two adapters on free ports; return their URLs.

    ``signer``/``key_id``/``cert_chain`` are the EE population register's signing key
    and certificate chain (leaf first): its ``getPerson`` answers are signed with them.
    ``workdir`` receives the filled-in definitions and the chain, so the same adapters
    can be run later with ``sild adapter serve``. ``ports[name]`` fixes the port of
    ``urls[name]`` (what gateways register, so a restart must keep it); the raw
    backends behind the adapters always take free ports.
    """
    fixed = dict(ports or {})
    from adapters.http_app import create_app  # the Flask edge, imported only when serving

    workdir = Path(workdir)
    chain = tuple(cert_chain)
    signing = SigningMaterial(signer=signer, key_id=key_id, certificates=chain)
    running = SandboxServers(workdir=workdir)
    try:
        for name in ("population", "vero", "dvv"):
            server = WsgiServer(backend_app(name), host, fixed.get(name, 0) if name == "dvv" else 0).start()
            running._servers.append(server)
            running.backend_urls[name] = server.url
        running.urls["dvv"] = running.backend_urls["dvv"]
        write_atomic(workdir / "population-sign-chain.pem",
                     b"".join(c.public_bytes(serialization.Encoding.PEM) for c in chain))
        for name in ADAPTED:
            write_atomic(workdir / f"{name}.yaml", _standalone_definition(
                name, running.backend_urls[name], key_id, signer, workdir / "population-sign-chain.pem"))
            definition = load_sandbox_definition(name, running.backend_urls[name])
            app = create_app(definition, signing=signing if name == "population" else None)
            running._apps.append(app)
            server = WsgiServer(app, host, fixed.get(name, 0)).start()
            running._servers.append(server)
            running.urls[name] = server.url
    except BaseException:
        running.close()
        raise
    return running
