"""Load a stored configuration tree: the own instance and the federated ones.

Two layouts are read:

* **X-Road's** (``/etc/xroad/globalconf``, and ``globalconf/parsed/globalconf_good*``
  in the vectors): a file ``instance-identifier`` naming the own instance, one
  folder per instance with ``shared-params.xml`` (and, for the own instance,
  ``private-params.xml``), each optionally with a ``.metadata`` JSON file
  (``expirationDate``, ``configurationVersion``; a missing version means 2).
  Folder names need not equal instance codes; the ``instanceIdentifier`` inside
  ``shared-params.xml`` decides.
* **sild's** (written by :mod:`federation.client._client`): the same, plus per-instance
  ``metadata.json`` and the raw signed ``directory`` for re-verification.

A tree is refused as a whole (:class:`ConfTreeInvalid`) when the own instance is
unnamed or absent, or when any parameter file is damaged: a gateway must not run
on a half-readable configuration.

For other packages
------------------
``load_tree(path).to_trust_policies()`` returns ``{instance: trust.pki._approved.TrustPolicy}``
for the own and every federated instance: approved CAs with OCSP responders and
certificate profile, TSAs, ``ocspFreshnessSeconds``. This is what the ASiC verifier
CLI and the gateway hand to ``trust`` (e.g. ``load_tree(xroad/"globalconf/parsed/globalconf_good2_v3")``
for X-Road's ASiC vectors). ``tree.current(at)`` drops expired partners and raises
:class:`ConfOutdated` when the own instance has expired.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path

from trust.pki import TrustPolicy

from federation.directory import VerifiedConfiguration, verify_directory
from federation.model import ConfigurationAnchor, PrivateParameters, SharedParameters
from federation.model import ConfError, ConfOutdated, ConfTreeInvalid
from federation.model import parse_private_parameters, parse_shared_parameters

INSTANCE_FILE = "instance-identifier"
SHARED_FILE = "shared-params.xml"
PRIVATE_FILE = "private-params.xml"


@dataclass(frozen=True)
class CurrentConfiguration:
    """The usable configuration at a moment: own instance plus non-expired partners."""

    instance: str
    shared: dict[str, SharedParameters]
    private: PrivateParameters | None
    expires_at: dict[str, dt.datetime]

    @property
    def own(self) -> SharedParameters:
        return self.shared[self.instance]


@dataclass(frozen=True)
class InstanceConfiguration:
    instance: str
    folder: str
    shared: SharedParameters
    version: int
    expires_at: dt.datetime | None  # None when the tree does not say
    private: PrivateParameters | None = None
    layout: str = "xroad"  # or "sild"

    def is_expired(self, at: dt.datetime) -> bool:
        return self.expires_at is not None and at >= self.expires_at


@dataclass(frozen=True)
class ConfigurationTree:
    path: Path
    own_instance: str
    instances: dict[str, InstanceConfiguration] = field(default_factory=dict)

    @property
    def own(self) -> InstanceConfiguration:
        return self.instances[self.own_instance]

    @property
    def federated(self) -> dict[str, InstanceConfiguration]:
        return {k: v for k, v in self.instances.items() if k != self.own_instance}

    def shared_parameters(self) -> dict[str, SharedParameters]:
        return {k: v.shared for k, v in self.instances.items()}

    def to_trust_policies(self) -> dict[str, TrustPolicy]:
        """``{instance: TrustPolicy}`` for the own and every federated instance."""
        return {k: v.shared.to_trust_policy() for k, v in self.instances.items()}

    def current(self, at: dt.datetime) -> "CurrentConfiguration":
        """The configuration usable at ``at``: own plus non-expired partners."""
        if at.tzinfo is None:
            raise ValueError("naive datetimes are refused")
        own = self.own
        if own.is_expired(at):
            raise ConfOutdated(f"global configuration of {self.own_instance} expired at {own.expires_at}")
        live = {k: v for k, v in self.instances.items() if k == self.own_instance or not v.is_expired(at)}
        return CurrentConfiguration(
            instance=self.own_instance,
            shared={k: v.shared for k, v in live.items()},
            private=own.private,
            expires_at={k: v.expires_at for k, v in live.items() if v.expires_at is not None},
        )

    def reverify(self, anchor: ConfigurationAnchor, at: dt.datetime) -> dict[str, VerifiedConfiguration]:
        """Re-verify the stored raw directories (sild layout) against the anchors.

        The own instance with ``anchor``; partners with the trusted anchors of the own
        private parameters. Raises the first :class:`ConfError`.
        """
        if anchor.instance != self.own_instance:
            raise ConfTreeInvalid(f"anchor is for {anchor.instance}, the tree belongs to {self.own_instance}")
        anchors = {anchor.instance: anchor}
        if self.own.private is not None:
            for a in self.own.private.anchors:
                anchors.setdefault(a.instance, a)
        result = {}
        for instance, conf in self.instances.items():
            folder = self.path / conf.folder
            raw = folder / "directory"
            if not raw.exists():
                raise ConfTreeInvalid(f"{folder} keeps no signed directory to re-verify (X-Road layout?)")
            if instance not in anchors:
                raise ConfTreeInvalid(f"no trusted anchor for stored instance {instance}")
            meta = json.loads((folder / "metadata.json").read_bytes())
            files = {p["location"]: (folder / p["file"]).read_bytes() for p in meta["parts"] if p.get("file")}
            result[instance] = verify_directory(raw.read_bytes(), anchors[instance], at=at, parts=files, instance=instance,
                                                fetch_part=_absent)
        return result


def _absent(location: str) -> bytes:
    raise OSError(f"part {location} was not stored")


def _metadata(path: Path) -> dict[str, object]:
    meta = path.with_name(path.name + ".metadata")
    if not meta.exists():
        return {}
    try:
        value = json.loads(meta.read_bytes())
    except json.JSONDecodeError as exc:
        raise ConfTreeInvalid(f"{meta} is not JSON") from exc
    if not isinstance(value, dict):
        raise ConfTreeInvalid(f"{meta} is not a JSON object")
    return value


def _expiry(meta: dict[str, object], path: Path) -> dt.datetime | None:
    text = meta.get("expirationDate") or meta.get("expiresAt")
    if text is None:
        return None
    try:
        value = dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ConfTreeInvalid(f"{path}: expirationDate {text!r} is not a time") from exc
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def _version(meta: dict[str, object], path: Path) -> int:
    raw = meta.get("configurationVersion", meta.get("version", "2"))
    try:
        return int(str(raw))
    except ValueError as exc:
        raise ConfTreeInvalid(f"{path}: configurationVersion {raw!r} is not a number") from exc


def load_tree(path: Path | str) -> ConfigurationTree:
    """Read a configuration tree (either layout); :class:`ConfTreeInvalid` when damaged."""
    root = Path(path)
    if not root.is_dir():
        raise ConfTreeInvalid(f"{root} is not a directory")
    try:
        own = (root / INSTANCE_FILE).read_text("utf-8").strip()
    except FileNotFoundError:
        raise ConfTreeInvalid(f"{root} has no {INSTANCE_FILE} file naming the own instance") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfTreeInvalid(f"cannot read {root / INSTANCE_FILE}: {exc}") from exc
    if not own:
        raise ConfTreeInvalid(f"{root / INSTANCE_FILE} is empty")
    instances: dict[str, InstanceConfiguration] = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        shared_path = folder / SHARED_FILE
        if not shared_path.exists():
            if any(folder.glob("*.xml")):
                raise ConfTreeInvalid(f"{folder} holds parameter files but no {SHARED_FILE}")
            continue
        meta = _metadata(shared_path)
        layout = "sild" if (folder / "metadata.json").exists() else "xroad"
        version = _version(meta, shared_path)
        try:
            shared = parse_shared_parameters(shared_path.read_bytes(), version=version)
        except ConfError as exc:
            raise ConfTreeInvalid(f"{shared_path}: {exc}") from exc
        if shared.instance in instances:
            raise ConfTreeInvalid(f"instance {shared.instance} appears in two folders")
        private = None
        private_path = folder / PRIVATE_FILE
        if shared.instance == own and private_path.exists():
            pmeta = _metadata(private_path)
            try:
                private = parse_private_parameters(private_path.read_bytes(), version=_version(pmeta, private_path))
            except ConfError as exc:
                raise ConfTreeInvalid(f"{private_path}: {exc}") from exc
            if private.instance != own:
                raise ConfTreeInvalid(f"{private_path} belongs to {private.instance}, not {own}")
        elif private_path.exists() and shared.instance != own:
            # a partner's private parameters are never used; they must still be readable XML
            try:
                parse_private_parameters(private_path.read_bytes(), version=_version(_metadata(private_path), private_path))
            except ConfError as exc:
                raise ConfTreeInvalid(f"{private_path}: {exc}") from exc
        instances[shared.instance] = InstanceConfiguration(
            instance=shared.instance,
            folder=folder.name,
            shared=shared,
            version=version,
            expires_at=_expiry(meta, shared_path),
            private=private,
            layout=layout,
        )
    if own not in instances:
        raise ConfTreeInvalid(f"{root} has no shared parameters of its own instance {own}")
    return ConfigurationTree(root, own, instances)
