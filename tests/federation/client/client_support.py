"""A test governing authority that publishes signed configuration on a real HTTP server.

No tests here; used by the client, discovery and CLI tests.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from federation.directory import DirectoryEntry, build_directory
from federation.model import (
    AnchorSource, ConfigurationAnchor, ConfigurationSource, ManagementService, Member, MemberClass,
    PrivateParameters, SecurityServer, SharedParameters, Subsystem,
)
from federation.model import write_private_parameters, write_shared_parameters
from trust.protocol import MemberId, SubsystemId

from tests.federation.directory_support import ConfServer, SigningIdentity


def sample_shared(instance: str, *, name: str = "Tax board", extra_members: int = 0) -> SharedParameters:
    gov = MemberClass("GOV", "Government")
    owner = MemberId(instance, "GOV", "70000001")
    members = [Member(gov, "70000001", name, (Subsystem("tax", "Tax data"), Subsystem("stats")))]
    members += [Member(gov, f"8000000{i}", f"Agency {i}") for i in range(extra_members)]
    return SharedParameters(
        instance=instance,
        sources=(ConfigurationSource(f"cs.{instance.lower()}.example"),),
        members=tuple(members),
        security_servers=(
            SecurityServer(owner, "ss1", f"ss1.{instance.lower()}.example", (b"\x11" * 32,), (SubsystemId(instance, "GOV", "70000001", "tax"),)),
        ),
        member_classes=(gov,),
    )


def sample_private(instance: str, anchors: tuple[ConfigurationAnchor, ...] = ()) -> PrivateParameters:
    return PrivateParameters(
        instance,
        ManagementService("https://cs:4001/managementservice/", SubsystemId(instance, "GOV", "70000001", "mgmt")),
        anchors=anchors,
    )


@dataclass
class Authority:
    """Publishes ``internalconf`` or ``externalconf`` of one instance on a :class:`ConfServer`."""

    instance: str
    signer: SigningIdentity
    server: ConfServer
    name: str = "internalconf"
    generation: int = 0
    published: dict[str, bytes] = field(default_factory=dict)

    def anchor(self) -> ConfigurationAnchor:
        return ConfigurationAnchor(self.instance, (AnchorSource(self.server.url(f"/{self.name}"), (self.signer.der,)),))

    def publish(
        self,
        shared: SharedParameters,
        private: PrivateParameters | None,
        *,
        expire: dt.datetime,
        version: int = 6,
    ) -> dict[str, bytes]:
        """Sign and serve one generation; returns path -> bytes of what was published."""
        self.generation += 1
        stamp = f"2026{self.generation:06d}"
        files = {f"/V{version}/{stamp}/shared-params.xml": ("SHARED-PARAMETERS", write_shared_parameters(replace(shared, version=version), version=version))}
        if private is not None:
            files[f"/V{version}/{stamp}/private-params.xml"] = (
                "PRIVATE-PARAMETERS",
                write_private_parameters(private, version=version),
            )
        entries = [DirectoryEntry(ci, self.instance, loc, data) for loc, (ci, data) in files.items()]
        directory = build_directory(
            entries, expire_date=expire, version=version, signer=self.signer.token, key_id=self.signer.key_id, cert=self.signer.cert
        )
        out = {loc: data for loc, (_, data) in files.items()}
        out[f"/V{version}/{self.name}"] = directory
        self.server.files.update(out)
        self.published = out
        return out
