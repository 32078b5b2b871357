"""Command group ``sild gateway log``: export evidence, archive and verify the message log, read op-monitoring records.
"""

from __future__ import annotations

from pathlib import Path

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
    data = export_exchange(mlog, query_id, direction=direction, require_timestamp=require_timestamp)
    write_atomic(out, data)
    click.echo(f"wrote {out} ({len(data)} bytes)")
    if not all(r.body_logged for r in mlog.find(query_id, direction=direction)[:1]):
        click.echo("warning: the body of this message was not logged (message-body logging off): the container "
                   "holds only its X-Road headers and will not verify", err=True)


def _archive_dir(directory: Path, archive_dir: Path | None) -> Path:
    return archive_dir if archive_dir is not None else directory / "archive"


@log_group.command("archive")
@DIRECTORY
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: DIR/archive.")
@click.option("--keep-days", type=click.IntRange(1, 3650), default=30, show_default=True,
              help="Delete archived records older than this from the database.")
def log_archive(directory: Path, archive_dir: Path | None, keep_days: int) -> None:
    """Archive timestamped records now (the scheduled job does this every 6 hours)."""
    import datetime as dt

    from gateway.messagelog import Archiver

    archiver = Archiver(open_message_log(directory), _archive_dir(directory, archive_dir), keep=dt.timedelta(days=keep_days))
    infos = archiver.archive_all()
    deleted = archiver.cleanup()
    for info in infos:
        click.echo(f"{info.file.name}: {info.record_count} record(s), sha512 {info.digest[:16]}...")
    click.echo(f"archived {sum(i.record_count for i in infos)} record(s) in {len(infos)} file(s); "
               f"deleted {deleted} old record(s) from the database")


@log_group.command("verify-archives")
@DIRECTORY
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path), help="Default: DIR/archive.")
def log_verify_archives(directory: Path, archive_dir: Path | None) -> None:
    """Check that the archives chain to each other and hold what their linkinginfo lists."""
    from gateway.messagelog import verify_archive_chain

    paths = sorted(_archive_dir(directory, archive_dir).glob("mlog-*.zip"), key=lambda p: p.name.rsplit("-", 1)[-1])
    if not paths:
        raise InvalidInput("no archive files found")
    checked = verify_archive_chain(paths)
    click.echo(f"{len(paths)} archive(s), {checked} container(s): chain intact")


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
