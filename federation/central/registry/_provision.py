"""Authority lifecycle operations that span the registry, the token and the network:
creating an authority directory, exporting its anchors, accepting a partner's anchor.

Accepting a trusted anchor follows X-Road's checks (NOTES section 6), in order:
the file is a schema-valid anchor -> it is not this instance's own -> its
configuration can be downloaded from one of its sources -> the directory's signature
verifies with the anchor's certificates -> it has not expired -> every part matches
its hash and schema -> it carries no ``PRIVATE-PARAMETERS`` (an external anchor was
sent, not an internal one). Only then is the anchor stored, exactly as received, and
the next internal configuration lists it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import tempfile
import urllib.parse
from pathlib import Path
from collections.abc import Callable, Sequence

import httpx

from federation.anchor import anchor_fingerprint, parse_anchor, write_anchor
from federation.directory import MAX_DIRECTORY_BYTES, VerifiedConfiguration, verify_directory
from federation.central import VERSION, GenerationResult, generate, node_urls
from federation.model import PRIVATE_PARAMETERS, AnchorSource, ConfigurationAnchor
from federation.model import AnchorInvalid, ConfDownloadFailed, ConfError
from ._home import CentralConfig, CentralDir, CentralDirError
from ._errors import WrongInstance
from ._keys import create_signing_key

DEFAULT_MEMBER_CLASSES = (("GOV", "Government"), ("COM", "Commercial"))
DOWNLOAD_TIMEOUT = 10.0


def init_central(
    path: str,
    *,
    instance: str,
    url: str,
    pin: str,
    now: dt.datetime,
    member_classes: Sequence[tuple[str, str]] = DEFAULT_MEMBER_CLASSES,
    database_url: str | None = None,
    pkcs11: tuple[str, str] | None = None,
) -> GenerationResult:
    """Create the directory, the registry, both signing keys, and publish a first configuration.

    ``pkcs11`` (library, token label) makes the signing keys in that token instead of ``DIR/token``.

    Everything is built in a temporary sibling directory that is renamed into place at
    the end, so a failure (wrong input, full disk) leaves no half-made authority behind.
    """
    config = CentralConfig(instance, url, database_url, pkcs11=pkcs11)
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CentralDirError(f"{target} exists and is not an empty directory")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.init-", dir=target.parent))
    try:
        CentralDir.create(staging, config)
        home = CentralDir(staging, clock=lambda: now)
        try:
            registry = home.registry()
            registry.initialise(instance)
            registry.set_setting("centralUrl", config.base_url)
            for code, description in member_classes:
                registry.add_member_class(code, description)
            token = home.token(pin)
            create_signing_key(registry, token, "internal", now=now, activate=True)
            create_signing_key(registry, token, "external", now=now, activate=True)
            result = generate(home, token, now=now, force=True)
        finally:
            home.close()
        if target.exists():
            target.rmdir()
        os.rename(staging, target)
        return result
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def init_node(path: str, *, url: str, database_url: str, token_dir: Path | None = None,
              pkcs11: tuple[str, str] | None = None) -> str:
    """Make ``path`` one more node of the authority whose registry is at ``database_url``; its instance.

    The node shares the registry (a PostgreSQL URL) and the configuration signing
    token (``token_dir``: the first node's token directory, on storage both nodes
    reach, its key files encrypted with the PIN; or ``pkcs11``: library and label of
    the PKCS#11 token the first node signs with) and has a URL of its own, which is added to ``additionalNodeUrls`` so that
    the configuration and the anchors list it as a source. Its ``public/`` folder is
    filled from the registry's published generation when it starts
    (:func:`federation.central.sync_published`).
    """
    from ._registry import Registry

    if "://" not in database_url or database_url.startswith("sqlite"):
        raise CentralDirError("a further node shares the registry over the network: give a PostgreSQL URL")
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise CentralDirError(f"{target} exists and is not an empty directory")
    if (token_dir is None) == (pkcs11 is None):
        raise CentralDirError("name the token the first node signs with: its token directory or its PKCS#11 token")
    tokens = None if token_dir is None else Path(token_dir).resolve()
    if tokens is not None and (not tokens.is_dir() or not any(tokens.iterdir())):
        raise CentralDirError(f"{tokens} holds no token (give the token directory the first node signs with)")
    registry = Registry.open(database_url)
    try:
        instance = registry.instance
        config = CentralConfig(instance, url, database_url, None if tokens is None else str(tokens), pkcs11)
        settings = dict(registry.settings())
        own = {settings.get("centralUrl", "")}
        others = [u for u in settings.get("additionalNodeUrls", "").split(",") if u]
        if config.base_url not in own | set(others):
            registry.set_setting("additionalNodeUrls", ",".join([*others, config.base_url]))
    finally:
        registry.close()
    CentralDir.create(target, config)
    return instance


def build_anchor(home: CentralDir, *, internal: bool, now: dt.datetime) -> bytes:
    """This authority's anchor: internal (own gateways) or external (partners), with every
    published key and one source per authority node (this one first)."""
    kind = "internal" if internal else "external"
    snapshot = home.registry().snapshot()
    certs = tuple(k.cert_der for k in snapshot.published_keys(kind))
    if not certs:
        raise AnchorInvalid(f"no {kind} signing key to put into the anchor")
    endpoint = "internalconf" if internal else "externalconf"
    sources = tuple(AnchorSource(f"{url}/{endpoint}", certs) for url in node_urls(snapshot, home.config))
    anchor = ConfigurationAnchor(home.config.instance, sources, generated_at=now)
    return write_anchor(anchor)


Fetch = Callable[[str], bytes]


def http_fetch(url: str) -> bytes:
    """GET ``url`` (bounded size, no redirects to other hosts' surprises) or raise ConfDownloadFailed."""
    try:
        with httpx.Client(timeout=DOWNLOAD_TIMEOUT, follow_redirects=False, trust_env=False) as client:
            with client.stream("GET", url) as response:
                if response.status_code != 200:
                    raise ConfDownloadFailed(f"{url} answered HTTP {response.status_code}")
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_DIRECTORY_BYTES:
                        raise ConfDownloadFailed(f"{url} sent more than {MAX_DIRECTORY_BYTES} bytes")
                return bytes(body)
    except httpx.HTTPError as exc:
        raise ConfDownloadFailed(f"cannot download {url}: {type(exc).__name__}") from exc


def download_verified(
    anchor: ConfigurationAnchor, *, now: dt.datetime, fetch: Fetch = http_fetch, version: int = VERSION
) -> VerifiedConfiguration:
    """Download and verify the configuration an anchor points at (first source that works)."""
    errors: list[str] = []
    for source in anchor.sources:
        url = source.download_url
        sep = "&" if "?" in url else "?"
        def fetch_part(location: str, base: str = url) -> bytes:
            target = urllib.parse.urljoin(base, location)
            if urllib.parse.urlsplit(target)[:2] != urllib.parse.urlsplit(base)[:2]:
                # a partner's directory may only point at its own server (no requests elsewhere on its behalf)
                raise ConfDownloadFailed(f"part location {location!r} leaves the anchor's server")
            return fetch(target)

        try:
            data = fetch(f"{url}{sep}version={version}")
            return verify_directory(data, anchor, at=now, fetch_part=fetch_part)
        except ConfDownloadFailed as exc:
            errors.append(str(exc))
    raise ConfDownloadFailed("no source of the anchor answered: " + "; ".join(errors))


def add_trusted_anchor(home: CentralDir, data: bytes, *, now: dt.datetime, fetch: Fetch = http_fetch) -> str:
    """Validate a partner's anchor (see module doc) and store it; returns its fingerprint."""
    anchor = parse_anchor(data)
    own = home.config.instance
    if anchor.instance == own:
        raise WrongInstance(f"the anchor is of this instance {own!r}; a trusted anchor must be of another instance")
    try:
        verified = download_verified(anchor, now=now, fetch=fetch)
    except ConfError as exc:
        raise type(exc)(f"anchor of {anchor.instance}: {exc}") from exc
    if verified.part(PRIVATE_PARAMETERS) is not None:
        raise AnchorInvalid(
            f"the configuration of {anchor.instance} carries PRIVATE-PARAMETERS: this is an internal anchor; "
            "ask the partner for its external anchor"
        )
    home.registry().add_trusted_anchor(anchor.instance, data, generated_at=anchor.generated_at)
    return anchor_fingerprint(data)
