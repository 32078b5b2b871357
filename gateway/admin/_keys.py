"""The gateway's tokens, keys and certificates over the admin API (what ``sild gateway token|key|cert`` does).

``/api/v1/tokens`` (list, add a PKCS#11 token; ``login``/``logout``), ``/api/v1/keys`` (list, generate,
certificate request, renew, activate/disable/delete) and ``/api/v1/certificates``
(import, activate/disable/delete). Every change goes through the functions the CLI
calls (:mod:`gateway.provision`: :func:`~gateway.provision.generate_key`,
:func:`~gateway.provision.write_csr`, :func:`~gateway.provision.renew_key`) or the
registry itself (:class:`trust.keys.KeyRegistry`), so a request made here is the one
the CLI would make, refused with the same error codes.

Why the node's registry: when the app runs in a node, it works on the registry the
node signs with (``AdminConfig.keys``), so a PKCS#11 token logged in here is logged in
for the node's traffic at once, and a certificate imported here is taken into use by
the node's next key check (no restart). Without a node the app opens the directory's
registry once, as the CLI does. The PIN travels only in the JSON body of ``login``;
the audit log stores it as ``[redacted]`` (its field is named ``pin``).

Reading needs a reader's role; every change needs ``admin``: keys are what the
gateway's signatures and TLS identity rest on.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify, request

from trust.keys import SOFT, KeyRegistry, KeyState, KeyType, KeyUsage
from trust.protocol import MemberId

from gateway.provision import generate_key, key_json, open_registry, renew_key, token_json, write_csr
from gateway.serverconf import parse_client_text
from gateway.settings import token_pin

from ._auth import READERS, SUPERUSER, Routes
from ._config import AdminConfig
from ._http import MAX_BODY, ApiError, body

USAGES = tuple(u.value for u in (KeyUsage.AUTH, KeyUsage.SIGN))
KEY_TYPES = ("rsa2048", "rsa3072", "ec-p256")


def _choice(value: str | None, name: str, allowed: tuple[str, ...]) -> str | None:
    if value is not None and value not in allowed:
        raise ApiError(400, "gateway.admin.bad_field", f"field {name!r} must be one of: {', '.join(allowed)}")
    return value


def _member(text: str | None) -> MemberId | None:
    """A member from the body (``EE/GOV/70000001`` or ``MEMBER:...``); a subsystem is refused as the CLI does."""
    if text is None:
        return None
    client = parse_client_text(text)
    if not isinstance(client, MemberId):
        raise ApiError(400, "gateway.admin.bad_field", f"{text} is a subsystem; give its member (INSTANCE/CLASS/CODE)")
    return client


def _optional_body() -> dict[str, Any]:
    """The JSON object body, or ``{}`` for a call sent without one."""
    return body().data if request.content_length else {}


class _Registry:
    """The registry the API works on: the node's, else the directory's, opened once on first use."""

    def __init__(self, config: AdminConfig) -> None:
        self._config, self._registry, self._lock = config, config.keys, threading.Lock()

    @property
    def directory(self) -> Path:
        if self._config.directory is None:
            raise ApiError(404, "gateway.admin.no_directory", "this admin API serves no gateway directory")
        return Path(self._config.directory)

    def get(self) -> KeyRegistry:
        with self._lock:
            if self._registry is None:
                self._registry = open_registry(self.directory, token_pin(self.directory))
            return self._registry


def keys_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("keys", __name__, config.conf)
    held = _Registry(config)

    @api.route("GET", "/api/v1/tokens", *READERS)
    def list_tokens() -> Any:
        return jsonify(tokens=[token_json(held.directory, t) for t in held.get().tokens()])

    @api.route("POST", "/api/v1/tokens", SUPERUSER)
    def add_token() -> Any:
        data = body()
        library = Path(str(data.text("library")))
        if not library.is_file():  # the module is a file on the gateway's host, opened now as the CLI does
            raise ApiError(400, "gateway.admin.bad_field", f"field 'library': no file {library} on the gateway's host")
        info = held.get().add_pkcs11_token(data.text("name"), library, data.text("label"))
        return jsonify(token_json(held.directory, info)), 201

    @api.route("POST", "/api/v1/tokens/<name>/login", SUPERUSER)
    def login(name: str) -> Any:
        registry = held.get()
        registry.login(name, body().text("pin"))  # a wrong PIN: trust.key.wrong_pin, and the token stays as it was
        return jsonify(token_json(held.directory, registry.token_info(name)))

    @api.route("POST", "/api/v1/tokens/<name>/logout", SUPERUSER)
    def logout(name: str) -> Any:
        if name == SOFT:
            raise ApiError(409, "gateway.admin.soft_token_logout",
                           "the soft token holds the gateway's TLS and auth keys; it stays logged in while the node "
                           "runs")
        registry = held.get()
        registry.logout(name)
        return jsonify(token_json(held.directory, registry.token_info(name)))

    @api.route("GET", "/api/v1/keys", *READERS)
    def list_keys() -> Any:
        return jsonify(keys=[key_json(held.directory, k) for k in held.get().keys()])

    @api.route("GET", "/api/v1/keys/<key_id>", *READERS)
    def get_key(key_id: str) -> Any:
        return jsonify(key_json(held.directory, held.get().key(key_id)))

    @api.route("POST", "/api/v1/keys", SUPERUSER)
    def generate() -> Any:
        data = body()
        usage = _choice(data.text("usage"), "usage", USAGES)
        key_type = _choice(data.text("type", False, "rsa2048"), "type", KEY_TYPES)
        key, csr = generate_key(held.directory, held.get(), token=data.text("token", False, SOFT),
                                usage=KeyUsage(usage), key_type=KeyType(key_type),
                                member=_member(data.text("member", False)), label=data.text("label", False, ""))
        return jsonify(key=key_json(held.directory, key), csr=csr.read_text()), 201

    @api.route("POST", "/api/v1/keys/<key_id>/csr", SUPERUSER)
    def csr(key_id: str) -> Any:
        member = _member(_text(_optional_body(), "member"))
        path = write_csr(held.directory, held.get(), key_id, member)
        return jsonify(key_id=key_id, csr=path.read_text())

    @api.route("POST", "/api/v1/keys/<key_id>/renew", SUPERUSER)
    def renew(key_id: str) -> Any:
        data = _optional_body()
        same_key = data.get("same_key", False)
        if not isinstance(same_key, bool):
            raise ApiError(400, "gateway.admin.bad_field", "field 'same_key' must be true or false")
        key_type = _choice(_text(data, "type"), "type", KEY_TYPES)
        key, path = renew_key(held.directory, held.get(), key_id, new_key=not same_key,
                              key_type=KeyType(key_type) if key_type else None)
        return jsonify(key=key_json(held.directory, key), csr=path.read_text()), 201

    @api.route("POST", "/api/v1/keys/<key_id>/<action>", SUPERUSER)
    def key_state(key_id: str, action: str) -> Any:
        key = held.get().set_key_state(key_id, _state(action))
        return jsonify(key_json(held.directory, key))

    @api.route("DELETE", "/api/v1/keys/<key_id>", SUPERUSER)
    def delete_key(key_id: str) -> Any:
        held.get().delete_key(key_id)
        return "", 204

    _certificate_routes(api, held)
    return api.blueprint


def _text(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    if value is not None and not isinstance(value, str):
        raise ApiError(400, "gateway.admin.bad_field", f"field {name!r} must be a string")
    return value


def _state(action: str) -> KeyState:
    states = {"activate": KeyState.ACTIVE, "disable": KeyState.DISABLED}
    if action not in states:
        raise ApiError(404, "gateway.admin.http_404", f"no action {action!r}: activate or disable")
    return states[action]


def _certificate_bytes() -> bytes:
    """The certificate of an import: ``{"pem": ...}`` as JSON, or the PEM or DER file itself as the body."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ApiError(413, "gateway.admin.too_large", "request body is larger than 10 MiB")
    if request.is_json:
        return str(body().text("pem")).encode("utf-8")
    data = request.get_data(cache=False)
    if not data:
        raise ApiError(400, "gateway.admin.no_body",
                       "send the certificate as {\"pem\": ...} or as the body (application/pkix-cert or PEM)")
    return data


def _certificate_routes(api: Routes, held: _Registry) -> None:
    @api.route("POST", "/api/v1/certificates", SUPERUSER)
    def import_certificate() -> Any:
        cert = held.get().import_certificate(_certificate_bytes())
        return jsonify(id=cert.id, key_id=cert.key_id, state=cert.state.value, subject=cert.subject,
                       issuer=cert.issuer, serial=f"{cert.serial:x}", not_before=cert.not_before,
                       not_after=cert.not_after), 201

    @api.route("POST", "/api/v1/certificates/<cert_id>/<action>", SUPERUSER)
    def certificate_state(cert_id: str, action: str) -> Any:
        cert = held.get().set_certificate_state(cert_id, _state(action))
        return jsonify(id=cert.id, key_id=cert.key_id, state=cert.state.value)

    @api.route("DELETE", "/api/v1/certificates/<cert_id>", SUPERUSER)
    def delete_certificate(cert_id: str) -> Any:
        held.get().delete_certificate(cert_id)
        return "", 204
