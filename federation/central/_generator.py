"""The configuration generator: registry snapshot -> signed, published configuration.

One run reads a consistent :class:`~federation.central.registry._snapshot.RegistrySnapshot`,
builds the instance's shared parameters (for everyone) and private parameters (for
its own gateways: trusted anchors of federated instances, the management service,
the timestamping interval), writes them in version 6, signs

* ``internalconf`` (PRIVATE-PARAMETERS + SHARED-PARAMETERS) with the active
  *internal* key, and
* ``externalconf`` (SHARED-PARAMETERS only) with the active *external* key,

and publishes everything atomically (:mod:`federation.central._publisher`).

When: :func:`needs_generation` says yes if nothing was published yet, if the
registry's change counter differs from the published one (a change by any process),
or if less than half of the expiry interval (``confExpireIntervalSeconds``) is left.
``sild central serve`` asks every few seconds; X-Road regenerates every 60 s with a
600 s expiry, sild does the same by default.

Several processes may share one authority directory (``serve`` plus a CLI command):
generation takes an exclusive ``flock`` on ``DIR/.generate.lock``, re-reads the state
under it and then decides. Several *nodes* (directories of their own on one
PostgreSQL registry, ``sild central node-init``) generate one at a time: the one that
holds the lease :data:`GENERATION_LEASE` (:class:`trust.infra.Lease`). Each generation
is stored in the registry before its files are written
(:mod:`federation.central.registry._published`), the decision to regenerate reads the
stored state (so a node that takes over continues where the last one stopped), and
:func:`sync_published` copies the newest stored generation into a node's ``public/``
folder: every node serves the same bytes.

The ``source`` element of the shared parameters lists the certificates of every
*published* key (active and pending) of each kind; that is what makes key rotation
safe (see :mod:`federation.central.registry._keys`).
"""

from __future__ import annotations

import datetime as dt
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509

from trust.protocol import SubsystemId, parse_client
from trust.keys import Signer

from federation.anchor import parse_anchor
from federation.directory import DirectoryEntry, build_directory
from federation.errors import FederationError
from federation.model import (
    CURRENT_VERSION, MONITORING, PRIVATE_PARAMETERS, SHARED_PARAMETERS, ConfigurationAnchor, ConfigurationSource,
    ManagementService, MonitoringParameters, PrivateParameters, SharedParameters,
)
from federation.model import write_monitoring_parameters, write_private_parameters, write_shared_parameters
from ._publisher import KEEP_GENERATIONS, publish, read_state
from federation.central.registry import CentralConfig, CentralDir
from federation.central.registry import RegistrySnapshot, StoredGeneration, latest_state, load_generation, store_generation

VERSION = CURRENT_VERSION
SHARED_FILE = "shared-params.xml"
PRIVATE_FILE = "private-params.xml"
MONITORING_FILE = "monitoring-params.xml"
INTERNAL = "internalconf"
EXTERNAL = "externalconf"
GENERATION_LEASE = "federation.central.generate"  # the lease of the node that generates (trust.infra.Lease)


class GenerationError(FederationError):
    code = "federation.generator.error"


@dataclass(frozen=True)
class GenerationResult:
    serial: int
    generated_at: dt.datetime
    expires_at: dt.datetime
    folder: str
    regenerated: bool


def folder_name(moment: dt.datetime) -> str:
    """X-Road's generation folder name: ``yyyyMMddHHmmss`` + 9 digits of sub-second."""
    utc = moment.astimezone(dt.timezone.utc)
    return f"{utc:%Y%m%d%H%M%S}{utc.microsecond * 1000:09d}"


def _folder_moment(folder: str) -> dt.datetime:
    """The moment a generation folder's name stands for (:func:`folder_name` read back, to the microsecond)."""
    moment = dt.datetime.strptime(folder[:14], "%Y%m%d%H%M%S").replace(tzinfo=dt.timezone.utc)
    return moment + dt.timedelta(microseconds=int(folder[14:23] or 0) // 1000)


def management_provider(snapshot: RegistrySnapshot) -> SubsystemId:
    """``managementRequestServiceProviderId``: the setting, else ``INST/GOV/00000000/management``."""
    text = snapshot.settings.get("managementServiceProviderId")
    if text:
        client = parse_client(text)
        if isinstance(client, SubsystemId):
            return client
    return SubsystemId(snapshot.instance, "GOV", "00000000", "management")


def node_urls(snapshot: RegistrySnapshot, config: CentralConfig) -> tuple[str, ...]:
    """This node's base URL, then those of the other nodes (setting ``centralUrl``, the first node's, and
    ``additionalNodeUrls``): whichever node generates, every node is a source."""
    others = [u for u in snapshot.settings.get("additionalNodeUrls", "").split(",") if u]
    first = [u for u in [snapshot.settings.get("centralUrl", "")] if u]
    return tuple(dict.fromkeys([config.base_url, *first, *others]))


def build_shared(snapshot: RegistrySnapshot, config: CentralConfig) -> SharedParameters:
    internal = tuple(k.cert_der for k in snapshot.published_keys("internal"))
    external = tuple(k.cert_der for k in snapshot.published_keys("external"))
    sources = tuple(
        ConfigurationSource(url.split("://", 1)[1], internal_certs=internal, external_certs=external)
        for url in node_urls(snapshot, config)
    )
    return SharedParameters(
        instance=snapshot.instance,
        sources=sources,
        approved_cas=snapshot.approved_cas,
        approved_tsas=snapshot.approved_tsas,
        members=snapshot.members,
        security_servers=snapshot.security_servers,
        global_groups=snapshot.global_groups,
        member_classes=snapshot.member_classes,
        ocsp_freshness_seconds=snapshot.setting_int("ocspFreshnessSeconds"),
    )


def build_private(snapshot: RegistrySnapshot, config: CentralConfig) -> PrivateParameters:
    anchors: list[ConfigurationAnchor] = [parse_anchor(raw) for _, raw in snapshot.trusted_anchors]
    return PrivateParameters(
        instance=snapshot.instance,
        management_service=ManagementService(
            auth_cert_reg_service_address=f"{config.base_url}/api/v1/registration-requests",
            management_request_service_provider_id=management_provider(snapshot),
        ),
        anchors=tuple(anchors),
        time_stamping_interval_seconds=snapshot.setting_int("timeStampingIntervalSeconds"),
    )


def build_monitoring(snapshot: RegistrySnapshot) -> bytes | None:
    """The MONITORING part (X-Road's ``monitoring-params.xml``) when a central monitoring client is set.

    It names the client that may read the operational data of every gateway of the
    instance; it goes to the instance's own gateways only (internal configuration).
    """
    text = snapshot.settings.get("monitoringClientId", "")
    if not text:
        return None
    return write_monitoring_parameters(MonitoringParameters(parse_client(text)))


def needs_generation(state: dict[str, object] | None, snapshot: RegistrySnapshot, now: dt.datetime) -> bool:
    if state is None:
        return True
    if state.get("serial") != snapshot.serial:
        return True
    try:
        expires = dt.datetime.fromisoformat(str(state["expiresAt"]))
        generated = dt.datetime.fromisoformat(str(state["generatedAt"]))
    except (KeyError, ValueError):
        return True
    return now >= generated + (expires - generated) / 2


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def generate(home: CentralDir, signer: Signer, *, now: dt.datetime, force: bool = False) -> GenerationResult:
    """Regenerate and publish if needed (or if ``force``); return what is published now.

    The caller holds the generation lease when other nodes share the registry (the
    node's schedule, ``sild central generate``). What was published last is read from
    the registry (an authority made before it stored generations: from ``public/``).
    """
    if now.tzinfo is None:
        raise GenerationError("naive datetime refused")
    with _locked(home.lock_file):
        registry = home.registry()
        snapshot = registry.snapshot()
        stored = latest_state(registry)
        state = stored if stored is not None else read_state(home.public_dir)
        if not force and not needs_generation(state, snapshot, now):
            assert state is not None
            if stored is not None:
                _sync(home)  # a node that just took over may lack the last node's generation
            return _result(state, regenerated=False)
        return _generate(home, signer, snapshot, now, after=str(stored["folder"]) if stored else "")


def _result(state: dict[str, object], *, regenerated: bool) -> GenerationResult:
    return GenerationResult(
        int(str(state["serial"])),
        dt.datetime.fromisoformat(str(state["generatedAt"])),
        dt.datetime.fromisoformat(str(state["expiresAt"])),
        str(state["folder"]),
        regenerated=regenerated,
    )


def sync_published(home: CentralDir) -> bool:
    """Write the registry's newest generation into this node's ``public/`` unless it is there; True if written.

    The bytes are the stored ones (signed by the node that generated them), so every
    node serves exactly the same configuration.
    """
    with _locked(home.lock_file):
        return _sync(home)


def _sync(home: CentralDir) -> bool:
    """:func:`sync_published` under the directory's lock."""
    registry = home.registry()
    stored = latest_state(registry)
    local = read_state(home.public_dir)
    if stored is None or (local is not None and local.get("folder") == stored.get("folder")):
        return False
    generation = load_generation(registry, str(stored["folder"]))
    if generation is None:  # pruned a moment ago by a newer generation: the next call takes that one
        return False
    publish(home.public_dir, generation.version, generation.folder, generation.files, generation.directories,
            generation.state, existing_ok=True)
    return True


def _key(snapshot: RegistrySnapshot, kind: str) -> tuple[str, x509.Certificate]:
    key = snapshot.active_key(kind)
    if key is None:
        raise GenerationError(f"no active {kind} signing key (run `sild central init` or activate one)")
    return key.key_id, x509.load_der_x509_certificate(key.cert_der)


def _generate(home: CentralDir, signer: Signer, snapshot: RegistrySnapshot, now: dt.datetime, *,
              after: str = "") -> GenerationResult:
    config = home.config
    if snapshot.instance != config.instance:
        raise GenerationError(f"registry instance {snapshot.instance!r} differs from central.json {config.instance!r}")
    shared_xml = write_shared_parameters(build_shared(snapshot, config), version=VERSION)
    private_xml = write_private_parameters(build_private(snapshot, config), version=VERSION)
    # folder names sort by time, and the newest name is the one kept and served: a node whose clock is
    # behind the last generator's names its generation just after the last one
    named = now if folder_name(now) > after else _folder_moment(after) + dt.timedelta(microseconds=1)
    folder = folder_name(named)
    base = home.public_dir / f"V{VERSION}"
    bump = 0
    while (base / folder).exists():  # two generations at one moment (a fixed test clock, a fast retry)
        bump += 1
        folder = folder_name(named + dt.timedelta(microseconds=bump))
    prefix = f"/V{VERSION}/{folder}"
    expires = now + dt.timedelta(seconds=snapshot.setting_int("confExpireIntervalSeconds"))
    inst = snapshot.instance
    shared_entry = DirectoryEntry(SHARED_PARAMETERS, inst, f"{prefix}/{SHARED_FILE}", shared_xml)
    private_entry = DirectoryEntry(PRIVATE_PARAMETERS, inst, f"{prefix}/{PRIVATE_FILE}", private_xml)
    internal_entries, files = [private_entry, shared_entry], {SHARED_FILE: shared_xml, PRIVATE_FILE: private_xml}
    monitoring_xml = build_monitoring(snapshot)
    if monitoring_xml is not None:
        internal_entries.append(DirectoryEntry(MONITORING, inst, f"{prefix}/{MONITORING_FILE}", monitoring_xml))
        files[MONITORING_FILE] = monitoring_xml
    internal_id, internal_cert = _key(snapshot, "internal")
    external_id, external_cert = _key(snapshot, "external")
    internal = build_directory(
        internal_entries, expire_date=expires, version=VERSION, signer=signer, key_id=internal_id, cert=internal_cert
    )
    external = build_directory(
        [shared_entry], expire_date=expires, version=VERSION, signer=signer, key_id=external_id, cert=external_cert
    )
    state = {
        "serial": snapshot.serial,
        "generatedAt": now.isoformat(),
        "expiresAt": expires.isoformat(),
        "folder": folder,
        "version": VERSION,
        "internalKey": internal_id,
        "externalKey": external_id,
    }
    directories = {INTERNAL: internal, EXTERNAL: external}
    store_generation(home.registry(), StoredGeneration(folder, VERSION, state, files, directories), keep=KEEP_GENERATIONS)
    publish(home.public_dir, VERSION, folder, files, directories, state)
    return GenerationResult(snapshot.serial, now, expires, folder, regenerated=True)
