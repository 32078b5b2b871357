"""``sild gateway token|key|cert ...``: a gateway's tokens, keys and certificates from the shell.

    sild gateway token list DIR
    sild gateway token add-pkcs11 DIR hsm --library /usr/lib/softhsm/libsofthsm2.so --label gw1
    sild gateway token login DIR hsm                 (checks the PIN of $SILD_TOKEN_PIN_HSM)
    sild gateway token logout DIR hsm                (the running node, over its admin API)
    sild gateway key generate DIR --usage sign --token hsm --type ec-p256 [--member EE/GOV/70000001]
    sild gateway key csr DIR KEY [--member M]; key renew DIR KEY [--same-key]
    sild gateway key disable|activate|delete DIR KEY
    sild gateway cert import DIR FILE; cert disable|activate|delete DIR CERT

Each command opens the registry of ``DIR`` (:func:`gateway.provision.open_registry`),
does one thing and prints what it did; PINs come from the environment, never from the
command line. A generated or renewed key gets its request in ``DIR/csr/<key>.csr.pem``
at once, in X-Road's subject profile. The trust and gateway modules are imported inside
the commands, so ``sild gateway --help`` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ._directory import DIRECTORY, JSON_OPTION

if TYPE_CHECKING:
    from trust.keys import KeyInfo, KeyRegistry
    from trust.protocol import MemberId

KEY_TYPES = ["rsa2048", "rsa3072", "ec-p256"]


def _registry(directory: Path) -> "KeyRegistry":
    from gateway.provision import open_registry
    from gateway.settings import token_pin

    return open_registry(directory, token_pin(directory))


def _member(text: str | None) -> "MemberId | None":
    from gateway.serverconf import parse_client_text
    from gateway.settings import SetupError
    from trust.protocol import MemberId

    if text is None:
        return None
    client = parse_client_text(text)
    if not isinstance(client, MemberId):
        raise SetupError(f"{text} is a subsystem; give its member (INSTANCE/CLASS/CODE)")
    return client


def _key_line(key: "KeyInfo") -> str:
    usage = key.usage.value if key.usage else "-"
    line = f"{key.key_id:24} {key.token:8} {usage:5} {key.algorithm:8} {key.state.value:9} {key.member or ''}"
    return line.rstrip() + (f"  \"{key.label}\"" if key.label else "")


def _print_keys(directory: Path, keys: list["KeyInfo"]) -> None:
    from gateway.provision import ocsp_state

    for key in keys:
        click.echo(_key_line(key))
        for cert in key.certificates:
            ocsp = ocsp_state(directory, key.key_id, cert.serial)
            said = (f"ocsp {ocsp['status']} at {ocsp['this_update']}" if ocsp and ocsp["this_update"]
                    else f"ocsp {ocsp['status']}" if ocsp else "ocsp not fetched yet")
            click.echo(f"    cert {cert.id} {cert.state.value:9} serial {cert.serial:x}  until {cert.not_after}"
                       f"  {said}  {cert.subject}")


# -- tokens --------------------------------------------------------------------------------
@click.group("token")
def token_group() -> None:
    """Tokens of the gateway: the soft token and PKCS#11 tokens (HSMs)."""


@token_group.command("list")
@DIRECTORY
@JSON_OPTION
def token_list(directory: Path, as_json: bool) -> None:
    """Tokens with their login state and keys."""
    from gateway.provision import token_json

    tokens = _registry(directory).tokens()
    if as_json:
        click.echo(json.dumps([token_json(directory, t) for t in tokens], indent=2))
        return
    for token in tokens:
        click.echo(f"token {token.name} ({token.kind}): {'logged in' if token.logged_in else 'logged out'}, "
                   f"{len(token.keys)} key(s)")
        _print_keys(directory, list(token.keys))


@token_group.command("add-pkcs11")
@DIRECTORY
@click.argument("name")
@click.option("--library", required=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The vendor's PKCS#11 module (.so).")
@click.option("--label", required=True, help="Label of the token in that module.")
def token_add_pkcs11(directory: Path, name: str, library: Path, label: str) -> None:
    """Add a PKCS#11 token (found by label in the module) to the gateway."""
    from gateway.provision import token_pin_variable

    info = _registry(directory).add_pkcs11_token(name, library, label)
    click.echo(f"token {info.name} added (PKCS#11 {label!r} in {library}); its PIN is read from "
               f"${token_pin_variable(name)}")


@token_group.command("login")
@DIRECTORY
@click.argument("name")
def token_login(directory: Path, name: str) -> None:
    """Log in to a token with the PIN from the environment (a check: each command logs in anew)."""
    import os

    from gateway.provision import token_pin_variable
    from gateway.settings import SetupError, token_pin
    from trust.keys import SOFT

    registry = _registry(directory)
    variable = "SILD_TOKEN_PIN" if name == SOFT else token_pin_variable(name)
    pin = token_pin(directory) if name == SOFT else os.environ.get(variable)
    if not pin:
        raise SetupError(f"no PIN for token {name}: set ${variable}")
    registry.login(name, pin)
    click.echo(f"token {name}: PIN accepted")
    registry.logout(name)


@token_group.command("logout")
@DIRECTORY
@click.argument("name")
@click.option("--key-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="File holding an admin API key [default: $SILD_ADMIN_API_KEY].")
def token_logout(directory: Path, name: str, key_file: Path | None) -> None:
    """Log the running node out of a PKCS#11 token: it signs with that token's keys no more until a login.

    Only the running node holds a login (each command logs in anew and out again), so
    this asks it over its admin API (``POST /api/v1/tokens/NAME/logout``, role admin).
    """
    from ._admin import call_admin_api

    info = call_admin_api(directory, "POST", f"/api/v1/tokens/{name}/logout", key_file=key_file).json()
    click.echo(f"token {name}: logged out of the running node" if not info.get("logged_in")
               else f"token {name}: still logged in")


# -- keys ------------------------------------------------------------------------------------
@click.group("key")
def key_group() -> None:
    """Keys of the gateway: generate, request certificates, renew, disable, delete."""


@key_group.command("list")
@DIRECTORY
@JSON_OPTION
def key_list(directory: Path, as_json: bool) -> None:
    """Every key with its token, usage, algorithm, state, member and certificates (with OCSP status)."""
    from gateway.provision import key_json

    keys = _registry(directory).keys()
    if as_json:
        click.echo(json.dumps([key_json(directory, k) for k in keys], indent=2))
    else:
        _print_keys(directory, keys)


@key_group.command("generate")
@DIRECTORY
@click.option("--usage", type=click.Choice(["auth", "sign"]), required=True)
@click.option("--token", "token_name", default="soft", show_default=True)
@click.option("--type", "key_type", type=click.Choice(KEY_TYPES), default="rsa2048", show_default=True)
@click.option("--member", default=None, help="The member a sign key signs for (default: the owner).")
@click.option("--label", default="")
def key_generate(directory: Path, usage: str, token_name: str, key_type: str, member: str | None,
                 label: str) -> None:
    """Generate a key inside a token and write its certificate request."""
    from gateway.provision import generate_key
    from trust.keys import KeyType, KeyUsage

    key, csr = generate_key(directory, _registry(directory), token=token_name, usage=KeyUsage(usage),
                            key_type=KeyType(key_type), member=_member(member), label=label)
    click.echo(f"generated {usage} key {key.key_id} ({key.algorithm}) in token {key.token}")
    click.echo(f"  certificate request {csr}")


@key_group.command("csr")
@DIRECTORY
@click.argument("key_id")
@click.option("--member", default=None, help="The member of a sign key (default: its recorded member).")
def key_csr(directory: Path, key_id: str, member: str | None) -> None:
    """Write a certificate request for a key (made inside its token)."""
    from gateway.provision import write_csr

    click.echo(f"certificate request {write_csr(directory, _registry(directory), key_id, _member(member))}")


@key_group.command("renew")
@DIRECTORY
@click.argument("key_id")
@click.option("--same-key", is_flag=True, help="Request a certificate for the same key (not advised).")
@click.option("--type", "key_type", type=click.Choice(KEY_TYPES), default=None, help="Type of the new key.")
def key_renew(directory: Path, key_id: str, same_key: bool, key_type: str | None) -> None:
    """Renew: a new key (by default) in the same token for the same usage and member, and its request."""
    from gateway.provision import renew_key
    from trust.keys import KeyType

    key, csr = renew_key(directory, _registry(directory), key_id, new_key=not same_key,
                         key_type=KeyType(key_type) if key_type else None)
    what = "same key" if same_key else f"new key {key.key_id} ({key.algorithm}) in token {key.token}"
    click.echo(f"renewal of {key_id}: {what}")
    click.echo(f"  certificate request {csr}")
    if not same_key:
        click.echo(f"  {key_id} stays active until you disable or delete it")


def _set_key_state(directory: Path, key_id: str, state: str) -> None:
    from trust.keys import KeyState

    key = _registry(directory).set_key_state(key_id, KeyState(state))
    click.echo(f"key {key.key_id}: {key.state.value}")


@key_group.command("disable")
@DIRECTORY
@click.argument("key_id")
def key_disable(directory: Path, key_id: str) -> None:
    """Disable a key: it signs nothing until activated again."""
    _set_key_state(directory, key_id, "disabled")


@key_group.command("activate")
@DIRECTORY
@click.argument("key_id")
def key_activate(directory: Path, key_id: str) -> None:
    """Activate a key again: the running node may sign with it (once it has an active certificate)."""
    _set_key_state(directory, key_id, "active")


@key_group.command("delete")
@DIRECTORY
@click.argument("key_id")
@click.option("--yes", is_flag=True, help="Confirm: the key is destroyed in its token.")
def key_delete(directory: Path, key_id: str, yes: bool) -> None:
    """Destroy a key in its token, with its certificates (irreversible)."""
    from gateway.settings import SetupError

    if not yes:
        raise SetupError(f"deleting key {key_id} destroys it in its token; add --yes to confirm")
    _registry(directory).delete_key(key_id)
    click.echo(f"key {key_id} deleted")


# -- certificates ------------------------------------------------------------------------
@click.group("cert")
def cert_group() -> None:
    """Certificates of the gateway's keys: import, disable, activate, delete."""


@cert_group.command("import")
@DIRECTORY
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
def cert_import(directory: Path, file: Path) -> None:
    """Import a certificate (PEM leaf then chain, or DER) for the key it certifies."""
    cert = _registry(directory).import_certificate(file.read_bytes())
    click.echo(f"certificate {cert.id} for key {cert.key_id}: serial {cert.serial:x}, {cert.subject}, "
               f"until {cert.not_after}")


def _set_cert_state(directory: Path, cert_id: str, state: str) -> None:
    from trust.keys import KeyState

    cert = _registry(directory).set_certificate_state(cert_id, KeyState(state))
    click.echo(f"certificate {cert.id}: {cert.state.value}")


@cert_group.command("disable")
@DIRECTORY
@click.argument("cert_id")
def cert_disable(directory: Path, cert_id: str) -> None:
    """Disable a certificate: its key is not chosen for it until it is activated again."""
    _set_cert_state(directory, cert_id, "disabled")


@cert_group.command("activate")
@DIRECTORY
@click.argument("cert_id")
def cert_activate(directory: Path, cert_id: str) -> None:
    """Activate a certificate again."""
    _set_cert_state(directory, cert_id, "active")


@cert_group.command("delete")
@DIRECTORY
@click.argument("cert_id")
def cert_delete(directory: Path, cert_id: str) -> None:
    """Delete a certificate from the registry (its key stays)."""
    _registry(directory).delete_certificate(cert_id)
    click.echo(f"certificate {cert_id} deleted")
