"""Reading and checking message-log archives offline: the chain, and every container inside.

Why a module of its own: an auditor checks archives years later on another machine,
without the gateway that wrote them (``sild gateway log verify-archives``), so what
checks an archive must not need the message log, its database or its settings -- only
the files, and for a trust decision the configuration tree of the time.

An archive is a ZIP of ASiC-E containers plus ``linkinginfo`` (NOTES 7): its first
line ``<previous archive digest> <previous archive name> SHA-512`` links it to the
archive before (the first links to :data:`GENESIS_DIGEST` ``-``); every other line is
``<digest> <entry name>``. Two levels are checked:

* **the chain**: each archive links to the SHA-512 of the one before, lists exactly its
  entries, and each entry matches its digest -- so editing, removing or reordering any
  archive is found, and named;
* **each container**: without trust policies its integrity (the ZIP reads as ASiC-E,
  the signature's references and value, the signature and timestamp hash chains:
  :func:`trust.xades.check_cryptography`); with them, everything ``sild asic verify``
  checks (:func:`trust.evidence.verify_container`: certificate, OCSP, timestamp).

Archives are read one at a time and their entries one at a time, so memory stays
bounded by the largest container (64 MiB at most, :mod:`trust.evidence`), not by
the archive.
"""

from __future__ import annotations

import hashlib
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

from trust.errors import SildError

from gateway.errors import GatewayError

LINKING_INFO = "linkinginfo"
DIGEST_NAME = "SHA-512"
GENESIS_DIGEST = "0" * 128
GENESIS_NAME = "-"
ARCHIVE_GLOB = "mlog-*.zip"
PARTIAL_GLOB = ".mlog-*.part"
MAX_LINKING_INFO = 16 * 1024 * 1024  # ~100,000 entries; a bigger one is not an archive sild wrote
Verify = Callable[[bytes, bool], str]  # (container, require_timestamp) -> signer; raises SildError
_SEQ = re.compile(r"-(\d+)\.zip$")
_ZIP_ERRORS = (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError, zlib.error)


class ArchiveError(GatewayError):
    code = "gateway.archive.error"


class ArchiveChainBroken(ArchiveError):
    code = "gateway.archive.chain_broken"


def archive_sequence(path: Path) -> int:
    """The sequence number an archive's name ends with (``mlog-...-000042.zip``): the chain's order."""
    match = _SEQ.search(path.name)
    return int(match.group(1)) if match else -1


def archive_files(directory: Path) -> list[Path]:
    """The archive files of ``directory`` in chain order (partial files of a crashed run are not archives)."""
    return sorted(directory.glob(ARCHIVE_GLOB), key=lambda p: (archive_sequence(p), p.name))


def file_digest(path: Path) -> str:
    """SHA-512 (hex) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def _linking_lines(path: Path, archive: zipfile.ZipFile) -> tuple[tuple[str, str], list[tuple[str, str]]]:
    try:
        info = archive.getinfo(LINKING_INFO)
    except KeyError:
        raise ArchiveChainBroken(f"{path.name} has no linkinginfo") from None
    if info.file_size > MAX_LINKING_INFO:
        raise ArchiveChainBroken(f"{path.name}: linkinginfo is larger than {MAX_LINKING_INFO} bytes")
    lines = archive.read(info).decode("ascii", "replace").splitlines()
    head = lines[0].split(" ") if lines else []
    if len(head) != 3 or head[2] != DIGEST_NAME:
        raise ArchiveChainBroken(f"{path.name}: first linkinginfo line must be '<digest> <file> {DIGEST_NAME}'")
    listed = [line.split(" ", 1) for line in lines[1:] if line]
    if any(len(pair) != 2 for pair in listed):
        raise ArchiveChainBroken(f"{path.name}: a linkinginfo line is not '<digest> <entry>'")
    return (head[0], head[1]), [(d, n) for d, n in listed]


def read_linking_info(path: Path) -> tuple[tuple[str, str], list[tuple[str, str]], dict[str, bytes]]:
    """((prev digest, prev name), [(digest, entry)], entries) of one archive file (all entries in memory)."""
    try:
        with zipfile.ZipFile(path) as archive:
            link, listed = _linking_lines(path, archive)
            entries = {name: archive.read(name) for name in archive.namelist() if name != LINKING_INFO}
    except _ZIP_ERRORS as exc:
        raise ArchiveChainBroken(f"{path.name} is not a readable archive: {exc}") from exc
    return link, listed, entries


def _entries(path: Path) -> Iterator[tuple[tuple[str, str], str, str, bytes | Exception]]:
    """(link, listed digest, name, data or the error reading it) per listed entry, one at a time."""
    from trust.evidence import MAX_CONTAINER_BYTES

    try:
        with zipfile.ZipFile(path) as archive:
            link, listed = _linking_lines(path, archive)
            names = [n for n in archive.namelist() if n != LINKING_INFO]
            if sorted(n for _, n in listed) != sorted(names) or len(set(names)) != len(names):
                raise ArchiveChainBroken(f"{path.name}: linkinginfo does not list exactly the archive's entries")
            yield link, "", "", b""  # the link first, before any entry is read
            for digest, name in listed:
                info = archive.getinfo(name)
                if info.file_size > MAX_CONTAINER_BYTES:
                    yield link, digest, name, ArchiveError(f"{name} is larger than {MAX_CONTAINER_BYTES} bytes")
                    continue
                yield link, digest, name, archive.read(info)
    except _ZIP_ERRORS as exc:
        raise ArchiveChainBroken(f"{path.name} is not a readable archive: {exc}") from exc


def verify_archive_chain(paths: Sequence[Path]) -> int:
    """Check archives (oldest first) link to each other and hold what they list; returns entries checked.

    Raises :class:`ArchiveChainBroken` naming the first archive that fails.
    """
    report = check_archives(paths)
    bad = report.failed  # in chain order, all before the archive where the chain broke
    if bad:
        raise ArchiveChainBroken(f"{bad[0].archive}: {bad[0].name} {bad[0].error}")
    if report.error is not None:
        raise ArchiveChainBroken(report.error)
    return report.checked


# -- a report per archive and per record ------------------------------------------------------


@dataclass(frozen=True)
class RecordResult:
    archive: str
    name: str
    error: str | None = None  # None: the container passed every check asked for
    signer: str = ""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class ArchiveResult:
    name: str
    digest: str = ""
    records: list[RecordResult] = field(default_factory=list)


@dataclass
class ArchiveReport:
    """What :func:`check_archives` found; ``error`` is the first chain break (checking stops there)."""

    archives: list[ArchiveResult] = field(default_factory=list)
    error: str | None = None
    trusted: bool = False  # containers checked against trust policies, not integrity only

    @property
    def checked(self) -> int:
        return sum(len(a.records) for a in self.archives)

    @property
    def failed(self) -> list[RecordResult]:
        return [r for a in self.archives for r in a.records if not r.ok]

    @property
    def ok(self) -> bool:
        return self.error is None and not self.failed

    def to_json(self) -> dict[str, Any]:
        """The report as the admin API answers it: per archive, the containers checked and those that failed."""
        return {
            "ok": self.ok, "error": self.error, "trusted": self.trusted, "checked": self.checked,
            "archives": [{"name": a.name, "sha512": a.digest, "records": len(a.records),
                          "failed": [{"entry": r.name, "error": r.error} for r in a.records if not r.ok]}
                         for a in self.archives],
        }


def check_container(data: bytes, policies: Mapping[str, Any] | None, *, require_timestamp: bool = False,
                    verify: Verify | None = None) -> str:
    """The signer of one container once it passes; a :class:`TrustError` says why it does not.

    Without ``policies``: integrity only (no certificate, OCSP or timestamp trust).
    """
    from trust.evidence import check_integrity, read_container, verify_container

    if verify is not None:  # e.g. the whole chain from the anchors (gateway.messagelog.anchored_check)
        return verify(data, require_timestamp)
    if policies is not None:
        return verify_container(data, policies, require_timestamp=require_timestamp).signer.to_text()
    container = read_container(data)
    if require_timestamp and container.get("META-INF/timestamp.tst") is None \
            and b"SignatureTimeStamp" not in container.require("META-INF/signatures.xml"):
        raise ArchiveError("container has no timestamp", code="gateway.archive.not_timestamped")
    return check_integrity(container).signer.to_text()


def check_archives(
    paths: Sequence[Path],
    policies: Mapping[str, Any] | None = None,
    *,
    containers: bool = False,
    require_timestamp: bool = False,
    verify: Verify | None = None,
) -> ArchiveReport:
    """Check the chain of ``paths`` (oldest first) and, with ``containers``, every container inside.

    A chain break stops the check (what follows cannot be placed); a container that fails
    is reported and the check goes on with the next one.
    """
    report = ArchiveReport(trusted=policies is not None or verify is not None)
    prev_digest, prev_name = GENESIS_DIGEST, GENESIS_NAME
    for path in paths:
        result = ArchiveResult(path.name)
        report.archives.append(result)
        try:
            for link, digest, name, data in _entries(path):
                if not name:
                    if link != (prev_digest, prev_name):
                        raise ArchiveChainBroken(f"{path.name} does not link to {prev_name} "
                                                 "(archive missing, reordered or altered)")
                    continue
                result.records.append(_check_entry(path.name, name, digest, data, policies if containers else None,
                                                   containers, require_timestamp, verify))
        except ArchiveError as exc:
            report.error = str(exc)
            return report
        result.digest = file_digest(path)
        prev_digest, prev_name = result.digest, path.name
    return report


def _check_entry(archive: str, name: str, digest: str, data: bytes | Exception, policies: Mapping[str, Any] | None,
                 containers: bool, require_timestamp: bool, verify: Verify | None = None) -> RecordResult:
    if isinstance(data, Exception):
        return RecordResult(archive, name, str(data))
    if hashlib.sha512(data).hexdigest() != digest:
        return RecordResult(archive, name, "does not match its digest")
    if not containers:
        return RecordResult(archive, name)
    try:
        signer = check_container(data, policies, require_timestamp=require_timestamp, verify=verify)
    except SildError as exc:
        return RecordResult(archive, name, f"{getattr(exc, 'code', type(exc).__name__)}: {exc}")
    return RecordResult(archive, name, signer=signer)
