"""Command group ``sild gateway log``: export evidence, archive and verify the message log, read op-monitoring records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from gateway.serverconf import InvalidInput

from ._directory import DIRECTORY, open_message_log


@click.group("log")
def log_group() -> None:
    """The message log: evidence of every exchange."""


@log_group.command("export")
@DIRECTORY
@click.option("--query-id", required=True, help="The exchange's message id (X-Road-Id / xroad:id).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path), help="FILE.asice to write.")
@click.option("--direction", type=click.Choice(["request", "response"]), default="request", show_default=True)
@click.option("--require-timestamp", is_flag=True, help="Refuse records that are not timestamped yet.")
def log_export(directory: Path, query_id: str, out: Path, direction: str, require_timestamp: bool) -> None:
    """Write one exchange's request or response as an ASiC-E container (check it with `sild asic verify`)."""
    from trust.keys import write_atomic

    from gateway.messagelog import export_exchange

    mlog = open_message_log(directory)
    from gateway.conf import ConfHistory

    # the signed configuration of the record's time goes along: `sild asic verify --anchor` needs nothing else
    data = export_exchange(mlog, query_id, direction=direction, require_timestamp=require_timestamp,
                           carry=ConfHistory(directory).carried)
    write_atomic(out, data)
    click.echo(f"wrote {out} ({len(data)} bytes)")
    if not all(r.body_logged for r in mlog.find(query_id, direction=direction)[:1]):
        click.echo("warning: the body of this message was not logged (message-body logging off): the container "
                   "holds only its X-Road headers and will not verify", err=True)


def _settings(directory: Path) -> Any:
    from gateway.settings import SETTINGS_FILE, NodeSettings

    return NodeSettings.load(directory) if (directory / SETTINGS_FILE).is_file() else None


def _archive_dir(directory: Path, archive_dir: Path | None) -> Path:
    """``--archive-dir``, else the gateway's ``archive_dir`` setting, else ``DIR/archive``."""
    settings = _settings(directory)
    if archive_dir is not None:
        return archive_dir
    return settings.archive_directory(directory) if settings is not None else directory / "archive"


@log_group.command("archive")
@DIRECTORY
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: DIR/archive.")
@click.option("--keep-days", type=click.IntRange(0, 3650),
              help="Delete archived records older than this from the database (default: messagelog_keep_days, 30).")
def log_archive(directory: Path, archive_dir: Path | None, keep_days: int | None) -> None:
    """Archive timestamped records now (the node does this every archive_interval_seconds, and early by size)."""
    import datetime as dt

    from gateway.messagelog import Archiver

    settings = _settings(directory)
    keep = keep_days if keep_days is not None else settings.messagelog_keep_days if settings else 30
    from gateway.conf import ConfHistory

    archiver = Archiver(open_message_log(directory), _archive_dir(directory, archive_dir), keep=dt.timedelta(days=keep),
                        carry=ConfHistory(directory).carried)
    infos = archiver.archive_all()
    deleted = archiver.cleanup()
    for info in infos:
        click.echo(f"{info.file.name}: {info.record_count} record(s), {info.size} bytes "
                   f"({info.raw_size} before deflate), sha512 {info.digest[:16]}...")
    click.echo(f"archived {sum(i.record_count for i in infos)} record(s) in {len(infos)} file(s); "
               f"deleted {deleted} old record(s) from the database")


def _archive_paths(places: tuple[Path, ...]) -> list[Path]:
    """Archive files of gateway directories (their ``archive_dir``), archive directories and files, in chain order."""
    from gateway.messagelog import archive_files, archive_sequence
    from gateway.settings import SETTINGS_FILE, NodeSettings

    found: set[Path] = set()
    for place in places:
        if place.is_file():
            found.add(place)
        elif (place / SETTINGS_FILE).is_file():
            found.update(archive_files(NodeSettings.load(place).archive_directory(place)))
        elif place.is_dir():
            found.update(archive_files(place) or archive_files(place / "archive"))
        else:
            raise InvalidInput(f"{place} does not exist")
    return sorted(found, key=lambda p: (archive_sequence(p), p.name))


@log_group.command("verify-archives")
@click.argument("places", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path), multiple=True,
              help="Another directory of archives (the chain may continue there).")
@click.option("--conf", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Configuration tree of the time (as for `sild asic verify`): each container's certificate, "
                   "OCSP response and timestamp are checked too. Without it: the chain and each container's "
                   "integrity (signature value and hash chains).")
@click.option("--anchor", "anchors", multiple=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Configuration anchor (repeatable): each container is checked from it with the signed "
                   "configuration it carries (as `sild asic verify --anchor`).")
@click.option("--chain-only", is_flag=True, help="Check the archive chain and entry digests only.")
@click.option("--require-timestamp", is_flag=True, help="Refuse containers without a timestamp.")
@click.option("--each", is_flag=True, help="Print a line for every container, not only for those that fail.")
def log_verify_archives(places: tuple[Path, ...], archive_dir: tuple[Path, ...], conf: Path | None,
                        anchors: tuple[Path, ...], chain_only: bool, require_timestamp: bool, each: bool) -> None:
    """Check archives offline: their chain, and every container inside.

    PLACES are gateway directories (their archive directory), directories of archives or
    archive files. The archives must link to one another from the first one on: one that
    is edited, removed or out of order is named. Exit code 0 when all is intact, 1 otherwise.
    """
    from gateway.messagelog import ArchiveChainBroken, ArchiveError, ArchiveReport, check_archives

    paths = _archive_paths(places + archive_dir)
    if not paths:
        raise InvalidInput("no archive files (mlog-*.zip) found")
    policies = None
    if conf is not None and not chain_only:
        from federation.conftree import load_tree

        policies = load_tree(conf).to_trust_policies()
    if conf is not None and anchors:
        raise InvalidInput("give --conf or --anchor, not both")
    verify = None
    if anchors and not chain_only:
        from federation.anchor import load_anchor
        from gateway.messagelog import anchored_check

        verify = anchored_check([load_anchor(a) for a in anchors])
    report: ArchiveReport = check_archives(paths, policies, containers=not chain_only,
                                           require_timestamp=require_timestamp, verify=verify)
    for archive in report.archives:
        for record in archive.records:
            if each or not record.ok:
                click.echo(f"{archive.name}: {record.name}: " + (f"ok ({record.signer})" if record.ok and record.signer
                                                                  else "ok" if record.ok else str(record.error)))
    for part in sorted({p.parent for p in paths}):
        for leftover in sorted(part.glob(".mlog-*.part")):
            click.echo(f"note: {leftover} is a partial archive of an interrupted run (not an archive; the next "
                       "archiving run removes or finishes it)", err=True)
    if report.error is not None:
        raise ArchiveChainBroken(report.error)
    checks = ("chain only" if chain_only else "whole chain checked from --anchor" if verify is not None
              else "trust checked with --conf" if report.trusted else "integrity only, no --conf")
    if report.failed:
        raise ArchiveError(f"{len(report.failed)} of {report.checked} container(s) failed ({checks})",
                           code="gateway.archive.container_invalid")
    click.echo(f"{len(paths)} archive(s), {report.checked} container(s) ({checks}): chain intact, all valid")


@log_group.command("opmonitoring")
@DIRECTORY
@click.option("--since", "since", type=click.IntRange(1, 366 * 86400), default=3600, show_default=True,
              help="Seconds back from now (records_from); records_to is now.")
@click.option("--client", default=None, help="Only the records of this client (INSTANCE/CLASS/CODE[/SUBSYSTEM]).")
@click.option("--fields", default="", help="Comma-separated record fields (default: all).")
@click.option("--limit", type=click.IntRange(1, 100_000), default=10_000, show_default=True)
def log_opmonitoring(directory: Path, since: int, client: str | None, fields: str, limit: int) -> None:
    """Operational monitoring records as JSON: what `GET /api/v1/opmonitoring/records` and X-Road's
    getSecurityServerOperationalData answer (one record per exchange, REST and SOAP, both sides)."""
    import json
    import time

    from gateway.monitoring import OpMonitor
    from gateway.serverconf import parse_client_text

    now = int(time.time())
    wanted = [f for f in fields.split(",") if f] or None
    result = OpMonitor(open_message_log(directory).engine).query(
        now - since, now, client=parse_client_text(client) if client else None, fields=wanted, limit=limit)
    click.echo(json.dumps(result.to_json(), indent=2))
