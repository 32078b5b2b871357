"""``sild adapter``: serve, check and describe adapters from their definition files."""

from __future__ import annotations

import json
import logging
import os
import ssl
import sys
from collections.abc import Callable

import click
from cryptography import x509

from trust.keys import SoftToken

from adapters.backends import BackendClient
from adapters.definition import AdapterDefinition, load_definition
from adapters.errors import AdapterError
from adapters.describe import build_openapi
from adapters.provider import SigningMaterial
from adapters.soap import AdapterFault
from adapters.describe import build_wsdl


def _signing(definition: AdapterDefinition) -> SigningMaterial | None:
    """The signing key a definition names (SoftToken directory + PIN from the environment)."""
    needs = any(op.sign for op in definition.operations)
    spec = definition.signing
    if spec is None:
        if needs:
            raise AdapterError(
                f"{definition.source.name}: operations sign their answers but there is no 'signing' section",
                code="adapters.definition.invalid",
            )
        return None
    certificates = tuple(x509.load_pem_x509_certificates(spec.certificate.read_bytes()))
    if spec.token_directory is None or spec.pin_env is None:
        raise AdapterError(f"{definition.source.name}: signing.token (directory, pin_env) is required to serve",
                           code="adapters.definition.invalid")
    pin = os.environ.get(spec.pin_env)
    if not pin:
        raise AdapterError(f"the token PIN environment variable {spec.pin_env} is not set",
                           code="adapters.signature.config")
    token = SoftToken(spec.token_directory, pin)
    token.public_key(spec.key_id)  # fails now (wrong PIN, missing key) rather than on the first request
    return SigningMaterial(signer=token, key_id=spec.key_id, certificates=certificates)


@click.group("adapter")
def adapter_group() -> None:
    """Wrap legacy SOAP/XML systems as exchange services (and legacy clients as consumers)."""


@adapter_group.command("serve")
@click.argument("definition_file", type=click.Path(dir_okay=False))
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8090, show_default=True, type=int, help="port to listen on (0: any free port)")
@click.option("--threads", default=16, show_default=True, type=int, help="worker threads")
@click.option("--tls-cert", type=click.Path(dir_okay=False, exists=True), default=None,
              help="serve HTTPS with this certificate (PEM, chain after the leaf)")
@click.option("--tls-key", type=click.Path(dir_okay=False, exists=True), default=None, help="its private key (PEM)")
@click.option("--tls-client-ca", type=click.Path(dir_okay=False, exists=True), default=None,
              help="require client certificates issued by these CAs (e.g. the gateway's internal TLS certificate)")
def serve(definition_file: str, host: str, port: int, threads: int, tls_cert: str | None, tls_key: str | None,
          tls_client_ca: str | None) -> None:
    """Serve the adapter DEFINITION_FILE describes until interrupted."""
    from adapters.http_app import create_app
    from adapters.serving import WsgiServer

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    definition = load_definition(definition_file, environ=os.environ)
    ssl_adapter = _ssl_adapter(tls_cert, tls_key, tls_client_ca)
    app = create_app(definition, signing=_signing(definition))
    server = WsgiServer(app, host, port, threads=threads, ssl_adapter=ssl_adapter)
    scheme = "https" if ssl_adapter is not None else "http"
    click.echo(f"adapter {definition.name}: {len(definition.operations)} operation(s), "
               f"{len(definition.consumers)} consumer route(s), listening on {scheme}://{host}:{port}", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["sild.adapter"].close()


def _ssl_adapter(cert: str | None, key: str | None, client_ca: str | None) -> object | None:
    if cert is None and key is None:
        if client_ca is not None:
            raise click.UsageError("--tls-client-ca needs --tls-cert and --tls-key")
        return None
    if cert is None or key is None:
        raise click.UsageError("--tls-cert and --tls-key go together")
    from cheroot.ssl.builtin import BuiltinSSLAdapter

    try:
        adapter = BuiltinSSLAdapter(cert, key)
        adapter.context.minimum_version = ssl.TLSVersion.TLSv1_2
        if client_ca is not None:
            adapter.context.verify_mode = ssl.CERT_REQUIRED
            adapter.context.load_verify_locations(client_ca)
    except (ssl.SSLError, OSError) as exc:
        raise AdapterError(f"cannot set up TLS: {exc}", code="adapters.tls.config") from exc
    return adapter


@adapter_group.command("check")
@click.argument("definition_file", type=click.Path(dir_okay=False))
@click.option("--no-ping", is_flag=True, help="only validate the file, do not contact the backends")
def check(definition_file: str, no_ping: bool) -> None:
    """Validate DEFINITION_FILE and ping its backends; exit 1 if a backend cannot be reached."""
    definition = load_definition(definition_file, environ=os.environ)
    _signing(definition) if definition.signing is not None else None
    click.echo(f"{definition.source.name}: valid; adapter {definition.name}, "
               f"{len(definition.operations)} operation(s), {len(definition.backends)} backend(s), "
               f"{len(definition.consumers)} consumer route(s)")
    if no_ping:
        return
    failed = 0
    for name, backend in definition.backends.items():
        client = BackendClient(backend)
        try:
            status = client.ping()
            click.echo(f"backend {name} ({backend.kind}): reachable, {status}")
        except AdapterFault as fault:
            failed += 1
            click.echo(f"backend {name} ({backend.kind}): {fault.message} [{fault.code}]")
        finally:
            client.close()
    if failed:
        sys.exit(1)


def _description_command(name: str) -> Callable[[Callable[[str, str | None], None]], click.Command]:
    """``sild adapter NAME DEFINITION_FILE [--base-url URL]``: the two commands that
    print a description of an adapter (WSDL, OpenAPI) take the same input."""

    def register(command: Callable[[str, str | None], None]) -> click.Command:
        command = click.option("--base-url", default=None,
                               help="URL the adapter is reached at (default: adapter.public_url)")(command)
        command = click.argument("definition_file", type=click.Path(dir_okay=False))(command)
        return adapter_group.command(name)(command)

    return register


def _described(definition_file: str, base_url: str | None) -> tuple[AdapterDefinition, str]:
    """The definition and the URL its description names (``--base-url``, else ``adapter.public_url``)."""
    definition = load_definition(definition_file, environ=os.environ)
    return definition, base_url or definition.public_url or "http://localhost:8090"


@_description_command("wsdl")
def wsdl(definition_file: str, base_url: str | None) -> None:
    """Print the WSDL of the adapter DEFINITION_FILE describes."""
    definition, url = _described(definition_file, base_url)
    click.echo(build_wsdl(definition, url).decode("utf-8"), nl=False)


@_description_command("openapi")
def openapi(definition_file: str, base_url: str | None) -> None:
    """Print the OpenAPI 3 description of the adapter's REST face."""
    definition, url = _described(definition_file, base_url)
    click.echo(json.dumps(build_openapi(definition, url), indent=2, ensure_ascii=False))
