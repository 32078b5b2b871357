"""Registry operations on what an instance trusts and who may administer it:
approved CAs and TSAs, global settings, trusted anchors of federated instances,
configuration signing keys and management API keys.

Each method is one transaction (:meth:`RegistryBase._change`); see
:mod:`federation.central.registry._base`. API keys are stored as SHA-256 only, in the
format and digest of :mod:`trust.infra` (shared with the gateway's admin API).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from trust.errors import IdentifierError
from trust.infra import api_key_digest, digest_matches, new_api_key, unknown_roles
from trust.protocol import ClientId, parse_client

from ._base import KEY_KINDS, ROLES, SETTINGS, TEXT_SETTINGS, RegistryBase, load_der_certificate
from ._errors import (
    DuplicateName, InUse, InvalidSetting, RegistryInvalidInput, WrongInstance,
)
from ._models import (
    ApiKeyRow, CaRow, IntermediateCaRow, OcspRow, Setting, SigningKeyRow, TrustedAnchorRow, TsaRow,
)


def _base_url(text: str, name: str) -> str:
    text = text.strip()
    rest = text.split("://", 1)[1].rstrip("/") if "://" in text else ""
    if not text.startswith(("http://", "https://")) or not rest or "/" in rest:
        raise InvalidSetting(f"{name} must be http(s)://host[:port] without a path, not {text!r}")
    return text.rstrip("/")


@dataclass(frozen=True)
class ApiKeyInfo:
    name: str
    roles: tuple[str, ...]
    created_at: dt.datetime
    revoked: bool


class SecurityRecords(RegistryBase):
    """CAs, TSAs, settings, trusted anchors, signing keys, API keys."""

    # -- approved CAs and TSAs ------------------------------------------------------
    def add_ca(
        self,
        name: str,
        cert: bytes,
        *,
        ocsp: Sequence[tuple[str, bytes | None]] = (),
        certificate_profile: str,
        authentication_only: bool = False,
        intermediates: Sequence[bytes] = (),
    ) -> None:
        if not name.strip():
            raise RegistryInvalidInput("an approved CA needs a name")
        if not certificate_profile.strip():
            raise RegistryInvalidInput("an approved CA needs a certificate profile")
        der = load_der_certificate(cert, f"certificate of CA {name!r}")
        responders = []
        for url, ocsp_cert in ocsp:
            if not url.startswith(("http://", "https://")):
                raise RegistryInvalidInput(f"OCSP responder URL {url!r} must be http(s)")
            responders.append(OcspRow(url=url, cert_der=load_der_certificate(ocsp_cert, "OCSP responder certificate") if ocsp_cert else None))
        inter = [IntermediateCaRow(cert_der=load_der_certificate(i, "intermediate CA certificate")) for i in intermediates]
        with self._change() as s:
            if s.scalar(select(CaRow).where(CaRow.name == name)) is not None:
                raise DuplicateName(f"approved CA {name!r} exists")
            s.add(
                CaRow(
                    name=name,
                    cert_der=der,
                    authentication_only=authentication_only,
                    certificate_profile=certificate_profile,
                    created_at=self.now(),
                    ocsp=responders,
                    intermediates=inter,
                )
            )

    def remove_ca(self, name: str) -> None:
        with self._change() as s:
            s.delete(self._one(s, select(CaRow).where(CaRow.name == name), f"unknown approved CA {name!r}",
                               "federation.registry.unknown_ca"))

    def cas(self) -> list[dict[str, object]]:
        with self._session() as s:
            return [
                {
                    "name": r.name,
                    "certSha256": hashlib.sha256(r.cert_der).hexdigest(),
                    "certificateProfile": r.certificate_profile,
                    "authenticationOnly": r.authentication_only,
                    "ocsp": [o.url for o in r.ocsp],
                }
                for r in s.scalars(select(CaRow).order_by(CaRow.name))
            ]

    def add_tsa(self, name: str, url: str, cert: bytes) -> None:
        if not name.strip():
            raise RegistryInvalidInput("an approved TSA needs a name")
        if not url.startswith(("http://", "https://")):
            raise RegistryInvalidInput(f"TSA URL {url!r} must be http(s)")
        der = load_der_certificate(cert, f"certificate of TSA {name!r}")
        with self._change() as s:
            if s.scalar(select(TsaRow).where(TsaRow.name == name)) is not None:
                raise DuplicateName(f"approved TSA {name!r} exists")
            s.add(TsaRow(name=name, url=url, cert_der=der, created_at=self.now()))

    def remove_tsa(self, name: str) -> None:
        with self._change() as s:
            s.delete(self._one(s, select(TsaRow).where(TsaRow.name == name), f"unknown approved TSA {name!r}",
                               "federation.registry.unknown_tsa"))

    def tsas(self) -> list[dict[str, object]]:
        with self._session() as s:
            return [
                {"name": r.name, "url": r.url, "certSha256": hashlib.sha256(r.cert_der).hexdigest()}
                for r in s.scalars(select(TsaRow).order_by(TsaRow.name))
            ]

    # -- settings -----------------------------------------------------------------
    def set_setting(self, name: str, value: str | int) -> None:
        self.set_settings({name: value})

    def set_settings(self, values: dict[str, str | int]) -> None:
        """Validate every value first, then store them all in one transaction."""
        if not values:
            raise InvalidSetting("no setting given")
        checked = {name: self._check_setting(name, value) for name, value in values.items()}
        with self._change() as s:
            for name, text in checked.items():
                row = s.get(Setting, name)
                if row is None:
                    s.add(Setting(name=name, value=text))
                else:
                    row.value = text

    @staticmethod
    def _check_setting(name: str, value: str | int) -> str:
        text = str(value).strip()
        if name in SETTINGS:
            try:
                number = int(text)
            except ValueError:
                raise InvalidSetting(f"{name} must be an integer, not {text!r}") from None
            minimum = SETTINGS[name][1]
            if number < minimum:
                raise InvalidSetting(f"{name} must be at least {minimum}")
            text = str(number)
        elif name == "centralUrl":
            text = _base_url(text, name)
        elif name == "additionalNodeUrls":
            # other authority nodes on the same registry (and the same signing keys): listed as sources
            urls = [_base_url(part, name) for part in text.replace(" ", ",").split(",") if part.strip()]
            text = ",".join(dict.fromkeys(urls))
        elif name == "managementServiceProviderId":
            try:
                parse_client(text)
            except IdentifierError as exc:
                raise InvalidSetting(f"managementServiceProviderId: {exc}") from exc
        elif name == "monitoringClientId":
            # the central monitoring client (the MONITORING part); empty: none, only owners read their gateways
            try:
                text = parse_client(text).to_text() if text else ""
            except IdentifierError as exc:
                raise InvalidSetting(f"monitoringClientId: {exc}") from exc
        else:
            known = ", ".join([*SETTINGS, *TEXT_SETTINGS])
            raise InvalidSetting(f"unknown setting {name!r}; known: {known}")
        return text

    def monitoring_client(self) -> ClientId | None:
        """The central monitoring client the MONITORING part names, or None (no part published)."""
        text = self.settings().get("monitoringClientId")
        return parse_client(text) if text else None

    def set_monitoring_client(self, client: ClientId | None) -> None:
        """Name (or, with None, clear) the client that may read every gateway's operational data.

        It must be of this instance: X-Road's gateways compare it with the caller exactly,
        and a client of another instance is a typo more often than an intent.
        """
        if client is not None and client.instance != self.info().instance:
            raise InvalidSetting(f"the monitoring client must be of this instance {self.info().instance}, "
                                 f"not {client.instance}")
        self.set_setting("monitoringClientId", client.to_text() if client is not None else "")

    def settings(self) -> dict[str, str]:
        """Every setting with its value or default (integers as text)."""
        with self._session() as s:
            stored = {r.name: r.value for r in s.scalars(select(Setting))}
        out = {name: stored.get(name, str(default)) for name, (default, _) in SETTINGS.items()}
        for name in TEXT_SETTINGS:
            if name in stored:
                out[name] = stored[name]
        return out

    def int_setting(self, name: str) -> int:
        return int(self.settings()[name])

    # -- trusted anchors of federated instances ---------------------------------------
    def add_trusted_anchor(self, instance: str, anchor_xml: bytes, *, generated_at: dt.datetime | None) -> str:
        """Store a validated anchor (replacing an older one of the same instance); returns its SHA-224 hex."""
        digest = hashlib.sha224(anchor_xml).hexdigest()
        with self._change() as s:
            if instance == self._state(s).instance:
                raise WrongInstance(f"the anchor is of this instance {instance!r}, not of a federated one")
            row = s.scalar(select(TrustedAnchorRow).where(TrustedAnchorRow.instance == instance))
            if row is None:
                s.add(
                    TrustedAnchorRow(
                        instance=instance, anchor_xml=anchor_xml, sha224_hex=digest, generated_at=generated_at, added_at=self.now()
                    )
                )
            else:
                row.anchor_xml, row.sha224_hex, row.generated_at, row.added_at = anchor_xml, digest, generated_at, self.now()
        return digest

    def remove_trusted_anchor(self, instance: str) -> None:
        with self._change() as s:
            s.delete(self._one(s, select(TrustedAnchorRow).where(TrustedAnchorRow.instance == instance),
                               f"no trusted anchor of instance {instance!r}", "federation.registry.unknown_anchor"))

    def trusted_anchors(self) -> list[tuple[str, bytes, str, dt.datetime]]:
        """``(instance, anchor bytes, SHA-224 hex, added at)``."""
        with self._session() as s:
            rows = s.scalars(select(TrustedAnchorRow).order_by(TrustedAnchorRow.instance))
            return [(r.instance, r.anchor_xml, r.sha224_hex, r.added_at) for r in rows]

    # -- signing keys ---------------------------------------------------------------
    def add_signing_key(self, key_id: str, kind: str, cert_der: bytes, *, status: str = "pending") -> None:
        if kind not in KEY_KINDS:
            raise RegistryInvalidInput(f"signing key kind must be one of {KEY_KINDS}")
        if status not in ("pending", "active"):
            raise RegistryInvalidInput("a new signing key is pending or active")
        der = load_der_certificate(cert_der, "signing key certificate")
        with self._change() as s:
            if s.scalar(select(SigningKeyRow).where(SigningKeyRow.key_id == key_id)) is not None:
                raise DuplicateName(f"signing key {key_id!r} exists")
            now = self.now()
            if status == "active":
                self._retire_active(s, kind)
            s.add(SigningKeyRow(key_id=key_id, kind=kind, status=status, cert_der=der, created_at=now,
                                activated_at=now if status == "active" else None))

    def _signing_key(self, s: Session, key_id: str) -> SigningKeyRow:
        return self._one(s, select(SigningKeyRow).where(SigningKeyRow.key_id == key_id),
                         f"unknown signing key {key_id!r}", "federation.registry.unknown_key")

    def _retire_active(self, s: Session, kind: str) -> None:
        for row in s.scalars(select(SigningKeyRow).where(SigningKeyRow.kind == kind, SigningKeyRow.status == "active")):
            row.status = "retired"

    def activate_signing_key(self, key_id: str) -> None:
        """Make a pending key the signing key of its kind; the previous one is retired."""
        with self._change() as s:
            row = self._signing_key(s, key_id)
            if row.status != "pending":
                raise RegistryInvalidInput(f"signing key {key_id!r} is {row.status}, not pending")
            self._retire_active(s, row.kind)
            row.status = "active"
            row.activated_at = self.now()

    def remove_signing_key(self, key_id: str) -> None:
        """Forget a retired (or pending) key: its certificate leaves the published sources."""
        with self._change() as s:
            row = self._signing_key(s, key_id)
            if row.status == "active":
                raise InUse(f"signing key {key_id!r} is active; activate another key first")
            s.delete(row)

    def signing_keys(self, kind: str | None = None) -> list[tuple[str, str, str, bytes]]:
        """``(key id, kind, status, cert DER)`` ordered by creation."""
        with self._session() as s:
            query = select(SigningKeyRow).order_by(SigningKeyRow.id)
            if kind is not None:
                query = query.where(SigningKeyRow.kind == kind)
            return [(r.key_id, r.kind, r.status, r.cert_der) for r in s.scalars(query)]

    # -- API keys -----------------------------------------------------------------------
    def create_api_key(self, name: str, roles: Sequence[str], *, secret: str | None = None) -> str:
        """Store a new key's SHA-256 and return the key (shown once; not recoverable)."""
        bad = unknown_roles(roles, ROLES)
        if bad or not roles:
            raise RegistryInvalidInput(f"roles must be some of {', '.join(ROLES)}; got {', '.join(roles) or 'none'}")
        if not name.strip():
            raise RegistryInvalidInput("an API key needs a name")
        key = secret or new_api_key()
        with self._change(bump=False) as s:
            if s.scalar(select(ApiKeyRow).where(ApiKeyRow.name == name)) is not None:
                raise DuplicateName(f"API key {name!r} exists")
            s.add(ApiKeyRow(name=name, key_sha256_hex=api_key_digest(key),
                            roles=",".join(sorted(set(roles))), created_at=self.now(), revoked=False))
        return key

    def authenticate_api_key(self, key: str) -> tuple[str, frozenset[str]] | None:
        """``(name, roles)`` of a valid, unrevoked key, or None."""
        digest = api_key_digest(key)
        with self._session() as s:
            row = s.scalar(select(ApiKeyRow).where(ApiKeyRow.key_sha256_hex == digest))
            if row is None or row.revoked or not digest_matches(row.key_sha256_hex, key):
                return None
            return row.name, frozenset(row.roles.split(","))

    def revoke_api_key(self, name: str) -> None:
        with self._change(bump=False) as s:
            row = self._one(s, select(ApiKeyRow).where(ApiKeyRow.name == name), f"unknown API key {name!r}",
                            "federation.registry.unknown_api_key")
            row.revoked = True

    def api_keys(self) -> list[ApiKeyInfo]:
        with self._session() as s:
            return [
                ApiKeyInfo(r.name, tuple(r.roles.split(",")), r.created_at, r.revoked)
                for r in s.scalars(select(ApiKeyRow).order_by(ApiKeyRow.name))
            ]

