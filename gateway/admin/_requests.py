"""X-Road's management requests to the authority, for the CLI and the admin API alike.

``clientReg``, ``clientDeletion``, ``ownerChange`` and ``addressChange`` are built,
signed and submitted by :func:`send_management_request`; ``sild gateway client
register|delete``, ``sild gateway owner change`` and ``sild gateway address`` call it,
and so do ``POST /api/v1/clients/{id}/registration``, ``.../deletion``,
``/api/v1/owner-change`` and ``/api/v1/address-change``. :func:`sync_clients` (``sild
gateway client sync``, ``POST /api/v1/clients/sync``) follows the authority's decisions.

Why here: the request needs the configuration (:mod:`gateway.conf`), the own OCSP
responses (:mod:`gateway.signing`) and the keys (:mod:`gateway.provision`); the admin
room is the lowest room that may import all three, and the CLI may import it.

Why the registry is a parameter: in a running node the API signs with the node's own
key registry (``AdminConfig.keys``), so a PKCS#11 token logged in for traffic signs
here too; the CLI opens the directory's registry. An authority's refusal (409 for a
duplicate request, ...) is passed on with its status and code. Every change needs
``admin``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, jsonify

from federation.central import RegistrationError
from trust.keys import KeyRegistry
from trust.protocol import ClientId, MemberId

from gateway.serverconf import InvalidInput, ServerConf

from ._auth import SUPERUSER, Routes
from ._config import AdminConfig
from ._http import ApiError, body, path_client


def authority_url(directory: Path, given: str | None) -> str:
    """The authority's URL: as given, else the one the gateway registered with (``gateway register``)."""
    from gateway.settings import NodeSettings, SetupError

    url = given or str(NodeSettings.load(directory).registration.get("authority") or "")
    if not url:
        raise SetupError("no authority URL known for this gateway: give --authority URL")
    return url


def check_address(address: str) -> str:
    """``HOST`` or ``HOST:PORT``, refused before anything is signed."""
    if not address.strip() or any(ch.isspace() or ch in "/?#@" for ch in address) or len(address) > 255:
        raise InvalidInput(f"{address!r} is not HOST or HOST:PORT")
    return address


def send_management_request(directory: Path, request_type: str, *, authority: str | None,
                            client: ClientId | None = None, address: str | None = None,
                            registry: KeyRegistry | None = None) -> dict[str, object]:
    """Build, sign and submit one management request as ``gateway register`` does its request.

    The owner's sign key and the auth key in use (the newest active ones,
    :func:`gateway.provision.owner_keys`) sign it, each certificate with a fresh OCSP
    response fetched now; a client or new owner that is another member hosted here
    (``gateway add-member``) signs with its own sign key too, as X-Road requires.
    """
    from cryptography.hazmat.primitives import serialization

    from federation.central import MemberSigner, build_management_request, concerned_member, submit_registration_request
    from trust.infra import utc_now

    from gateway.provision import load_cert_chain, open_registry, owner_keys, sign_keys, signing_keys
    from gateway.settings import NodeSettings, SetupError, token_pin

    url = authority_url(directory, authority)
    settings = NodeSettings.load(directory)
    concerned = concerned_member(request_type, settings.server_id, () if client is None else (client,))
    token = registry or open_registry(directory, token_pin(directory))  # the newest active keys sign, in any token
    chosen = dict(owner_keys(directory, token))
    if concerned is not None:
        hosted = [k for k, member in sign_keys(directory).items() if member == concerned]
        member_key = signing_keys(directory, token).get(concerned)
        if member_key is None and not hosted:
            raise SetupError(f"{concerned.to_text()} signs this request too, but this gateway holds no sign key for it "
                             f"(run `.venv/bin/sild gateway add-member {directory} --member {concerned.to_text()}`)")
        chosen["member"] = member_key or (hosted[0], load_cert_chain(directory, hosted[0]))
    key_ids = {name: key_id for name, (key_id, _chain) in chosen.items()}
    chains = {name: chain for name, (_key_id, chain) in chosen.items()}
    ocsp = _fresh_ocsp(directory, settings, {key_ids[n]: chain[0] for n, chain in chains.items()})

    def signer(name: str) -> MemberSigner:
        return MemberSigner(token, key_ids[name], chains[name][0], ocsp.for_key(key_ids[name])[0])

    document = build_management_request(
        request_type, server=settings.server_id, auth_cert=chains["auth"][0].public_bytes(serialization.Encoding.DER),
        auth_signer=token, auth_key_id=key_ids["auth"], auth_ocsp=ocsp.for_key(key_ids["auth"])[0],
        owner=signer("sign"), client=client, address=address,
        member=signer("member") if "member" in key_ids else None, created_at=utc_now())
    return submit_registration_request(url, document)


def _fresh_ocsp(directory: Path, settings: Any, certs: dict[str, Any]) -> Any:
    """OCSP responses fetched now for ``certs`` (key id -> certificate): the authority checks each one's status."""
    from trust.infra import utc_now

    from gateway.conf import ConfStore
    from gateway.settings import SetupError
    from gateway.signing import OwnOcspStore

    store = ConfStore(directory, settings, clock=utc_now)
    store.refresh()

    def policy(instance: str, _at: Any) -> Any:
        conf = store.current().get(instance)
        if conf is None:
            raise SetupError(f"no configuration of {instance} could be downloaded yet")
        return conf.shared.to_trust_policy()

    ocsp = OwnOcspStore(directory / "ocsp", certs, policy, settings.instance)
    ocsp.refresh(utc_now())
    if not all(ocsp.for_key(key_id) for key_id in certs):
        raise SetupError(f"cannot get OCSP responses for the certificates: {ocsp.health().get('last_error')}")
    return ocsp


def send_registration_request(directory: Path, *, authority: str | None, address: str | None = None,
                              clients: tuple[ClientId, ...] = (), registry: KeyRegistry | None = None
                              ) -> dict[str, object]:
    """The gateway's own registration request (``gateway register``, ``POST /api/v1/registration``).

    Signed by the owner's sign key and the auth key in use, each certificate with a
    fresh OCSP response; the authority and the request's id are remembered in
    ``gateway.json`` (``registration``), so later management requests and ``client
    sync`` know where to go.
    """
    from federation.central import build_registration_request, submit_registration_request
    from trust.infra import utc_now

    from gateway.provision import open_registry, owner_keys
    from gateway.settings import NodeSettings, token_pin

    url = authority_url(directory, authority)
    settings = NodeSettings.load(directory)
    token = registry or open_registry(directory, token_pin(directory))  # signs in whichever token holds the key
    keys = owner_keys(directory, token)  # the newest auth and sign keys: after a renewal the new ones sign
    (auth_id, auth), (sign_id, sign) = keys["auth"], keys["sign"]
    ocsp = _fresh_ocsp(directory, settings, {auth_id: auth[0], sign_id: sign[0]})
    document = build_registration_request(
        server=settings.server_id, address=address or settings.public_address or None, auth_cert=auth[0],
        clients=list(clients), sign_cert=sign[0], sign_ocsp=ocsp.for_key(sign_id)[0],
        auth_ocsp=ocsp.for_key(auth_id)[0], owner_signer=token, sign_key_id=sign_id, auth_signer=token,
        auth_key_id=auth_id, created_at=utc_now())
    answer = submit_registration_request(url, document)
    settings = NodeSettings.load(directory)  # as it is now: the request took a while
    registration = {**settings.registration, "authority": url, "submitted_at": utc_now().isoformat(),
                    "request": str(answer.get("id", ""))}
    NodeSettings(**{**settings.__dict__, "registration": registration}).save(directory)
    return answer


def mark_requested(conf: ServerConf, client: ClientId, request_type: str) -> None:
    """The client's state once its ``clientReg``/``clientDeletion`` was submitted."""
    known = conf.snapshot().client(client) is not None
    if request_type == "clientReg":
        if known:
            conf.set_client_state(client, "REGISTRATION_IN_PROGRESS")
        else:
            conf.add_client(client, state="REGISTRATION_IN_PROGRESS")
    elif known:
        conf.set_client_state(client, "DELETION_IN_PROGRESS")


def registered_here(directory: Path) -> tuple[Any, Any]:
    """(this gateway's settings, its entry in the freshly downloaded configuration of its instance or None).

    The gateway is found by its auth certificate, so it is found after an owner change too.
    """
    from cryptography.hazmat.primitives import serialization

    from trust.infra import utc_now

    from gateway.conf import ConfStore
    from gateway.settings import NodeSettings, SetupError

    settings = NodeSettings.load(directory)
    store = ConfStore(directory, settings, clock=utc_now)
    store.refresh()
    own = store.current().get(settings.instance)
    if own is None:
        raise SetupError(f"no configuration of {settings.instance} could be downloaded yet")
    for auth in _auth_certificates(directory):
        server = own.shared.server_by_auth_cert(auth.public_bytes(serialization.Encoding.DER))
        if server is not None:
            return settings, server
    return settings, None


def _auth_certificates(directory: Path) -> list[Any]:
    """Every auth certificate of this gateway: the key registry's (a renewed auth key), then ``certs/auth.pem``.

    After an auth key renewal the authority may list only the new certificate; the
    registry needs the token's PIN to open, so without it only the file is looked at.
    """
    from trust.keys import KeyUsage

    from gateway.provision import load_cert_chain, open_registry
    from gateway.settings import SetupError, token_pin

    found: list[Any] = []
    try:
        registry = open_registry(directory, token_pin(directory))
        for key in registry.keys():
            if key.usage is KeyUsage.AUTH:
                found.extend(registry.certificate_chain(cert.id)[0] for cert in key.certificates)
    except SetupError:
        pass
    if (directory / "certs" / "auth.pem").is_file():
        found.append(load_cert_chain(directory, "auth")[0])
    return found


def sync_clients(directory: Path, conf: ServerConf) -> list[dict[str, str]]:
    """Mark clients registered once the configuration lists them; report the ones it lists no more.

    One entry per client in a pending or registered state: ``registered`` (marked now),
    ``not_listed`` (remove it) or ``waiting`` (the authority has not decided).
    """
    settings, server = registered_here(directory)
    listed = set(server.clients) if server is not None else set()
    outcomes: list[dict[str, str]] = []
    for info in conf.list_clients():
        if info.id == settings.server_id.owner:
            continue  # the owner is a client of its gateway without being listed
        if info.state == "REGISTRATION_IN_PROGRESS" and info.id in listed:
            conf.set_client_state(info.id, "REGISTERED")
            outcomes.append({"client": info.id.to_text(), "outcome": "registered", "state": "REGISTERED"})
        elif info.state in ("REGISTERED", "DELETION_IN_PROGRESS") and info.id not in listed:
            outcomes.append({"client": info.id.to_text(), "outcome": "not_listed", "state": info.state})
        elif info.state in ("REGISTRATION_IN_PROGRESS", "DELETION_IN_PROGRESS"):
            outcomes.append({"client": info.id.to_text(), "outcome": "waiting", "state": info.state})
    return outcomes


def apply_owner(directory: Path) -> tuple[Any, bool]:
    """Take on the owner the configuration names for this gateway (after an approved owner change).

    ``(the gateway's identifier now, whether it changed)``. A running node serves as
    the new owner within seconds (``gateway.node._live``: only the owner changed, so
    no restart); the former owner keeps its sign key (:func:`gateway.provision.change_owner`).
    """
    from gateway.provision import change_owner
    from gateway.settings import SetupError

    settings, server = registered_here(directory)
    if server is None:
        raise SetupError(f"the configuration of {settings.instance} does not list this gateway's auth certificate")
    if server.owner == settings.server_id.owner:
        return settings.server_id, False
    return change_owner(directory, server.owner), True


def requests_blueprint(config: AdminConfig) -> Blueprint:
    api = Routes("management_requests", __name__, config.conf)

    def directory() -> Path:
        if config.directory is None:
            raise ApiError(404, "gateway.admin.no_directory", "this admin API serves no gateway directory")
        return Path(config.directory)

    def send(request_type: str, **fields: Any) -> dict[str, object]:
        authority = body().text("authority", False) if _has_body() else None
        try:
            return send_management_request(directory(), request_type, authority=authority, registry=config.keys,
                                           **fields)
        except RegistrationError as exc:
            if exc.relayed_status is None:  # the authority did not answer
                raise ApiError(502, exc.code, exc.message) from exc
            raise ApiError(exc.relayed_status, exc.code, exc.message) from exc

    @api.route("POST", "/api/v1/clients/<client_id>/registration", SUPERUSER)
    def register(client_id: str) -> Any:
        return _client_request(config.conf, send, path_client(client_id), "clientReg")

    @api.route("POST", "/api/v1/clients/<client_id>/deletion", SUPERUSER)
    def delete(client_id: str) -> Any:
        return _client_request(config.conf, send, path_client(client_id), "clientDeletion")

    @api.route("POST", "/api/v1/owner-change", SUPERUSER)
    def owner_change() -> Any:
        member = path_client(str(body().text("member")).replace("/", ":"))
        if not isinstance(member, MemberId):
            raise ApiError(400, "gateway.admin.bad_field", "field 'member' must be a member id (INSTANCE:CLASS:CODE)")
        return jsonify(request=send("ownerChange", client=member), member=member.to_text()), 202

    @api.route("POST", "/api/v1/owner-change/apply", SUPERUSER)
    def owner_apply() -> Any:
        server, changed = apply_owner(directory())
        return jsonify(server=server.to_text(), changed=changed)

    @api.route("POST", "/api/v1/address-change", SUPERUSER)
    def address_change() -> Any:
        address = check_address(str(body().text("address")))
        return jsonify(request=send("addressChange", address=address), address=address), 202

    @api.route("POST", "/api/v1/registration", SUPERUSER)
    def register_gateway() -> Any:
        fields = body() if _has_body() else None
        authority = fields.text("authority", False) if fields is not None else None
        address = fields.text("address", False) if fields is not None else None
        address = check_address(address) if address else None  # refused before anything is signed
        try:
            answer = send_registration_request(directory(), authority=authority, registry=config.keys, address=address)
        except RegistrationError as exc:
            raise ApiError(502 if exc.relayed_status is None else exc.relayed_status, exc.code, exc.message) from exc
        return jsonify(request=answer), 202

    @api.route("POST", "/api/v1/clients/sync", SUPERUSER)
    def sync() -> Any:
        return jsonify(clients=sync_clients(directory(), config.conf))

    return api.blueprint


def _has_body() -> bool:
    from flask import request

    return bool(request.content_length)


def _client_request(conf: ServerConf, send: Any, client: ClientId, request_type: str) -> Any:
    answer = send(request_type, client=client)
    mark_requested(conf, client, request_type)
    info = conf.snapshot().client(client)
    return jsonify(request=answer, client=client.to_text(), state=info.state if info else None), 202
