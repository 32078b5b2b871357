"""Which approved TSAs a gateway stamps with, in which order, and falling over between them.

Why: X-Road's security server lets its operator choose, among the timestamping
services the global configuration approves, the ones the server uses and their
order; the timestamper asks the first and, when it fails, the next. Before this a
node stamped with the first approved TSA only, so one TSA down stopped every
gateway of the instance from stamping although the authority approved others.

The choice is the setting ``timestamping_services`` (URLs or names; empty = every
approved TSA in the configuration's order). :func:`choose_tsas` turns it into the
approved entries (strict: a choice the configuration does not approve is refused
with :class:`TsaNotApproved`, for the operator's edits; lenient: such an entry is
left out, for a running node whose configuration withdrew a TSA since).
:class:`FailoverStamper` asks them in that order and keeps, per TSA, the outcome of
its last attempt, which :class:`gateway.messagelog._timestamper.Timestamper` stores
in ``ml_state`` for the diagnostics.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Callable, Sequence

from ._records import MessageLogError
from ._timestamper import BatchStamp, BatchStamper, TimestampingFailed

log = logging.getLogger(__name__)


class TsaNotApproved(MessageLogError):
    code = "gateway.messagelog.tsa_not_approved"


def choose_tsas(approved: Sequence[Any], chosen: Sequence[str], *, strict: bool = True) -> list[Any]:
    """The approved TSAs (objects with ``name`` and ``url``) to stamp with, in order of use.

    An empty choice is every approved TSA in the configuration's order. Each chosen
    entry matches an approved TSA by URL or, failing that, by name. ``strict``: an
    entry that matches none raises :class:`TsaNotApproved` naming the approved ones.
    """
    if not chosen:
        return list(approved)
    out: list[Any] = []
    for entry in chosen:
        match = next((t for t in approved if t.url == entry), None) or \
            next((t for t in approved if t.name == entry), None)
        if match is None:
            if strict:
                names = ", ".join(f"{t.name} ({t.url})" for t in approved) or "none"
                raise TsaNotApproved(f"{entry!r} is not a TSA approved in the global configuration; approved: {names}")
            log.warning("timestamping service %r is no longer approved in the configuration: skipped", entry)
            continue
        if match not in out:
            out.append(match)
    return out


class FailoverStamper:
    """Asks each TSA in turn until one stamps; the outcome of each attempt is kept in :attr:`outcomes`.

    ``stampers``: (URL, stamper) in order of use. :attr:`last_used` is the URL that
    stamped the last batch. No TSA at all (none chosen is approved) fails each run,
    so the failure shows in the diagnostics and the grace period runs as X-Road's does.
    """

    def __init__(self, stampers: Sequence[tuple[str, BatchStamper]]) -> None:
        self.stampers = list(stampers)
        self.outcomes: dict[str, tuple[dt.datetime, str | None]] = {}
        self.last_used: str | None = None

    @property
    def urls(self) -> list[str]:
        return [url for url, _ in self.stampers]

    def __call__(self, signatures: Sequence[bytes], *, at: dt.datetime) -> BatchStamp:
        self.outcomes = {}
        if not self.stampers:
            raise TimestampingFailed("no chosen timestamping service is approved in the global configuration")
        errors = []
        for url, stamper in self.stampers:
            try:
                stamp = stamper(signatures, at=at)
            except Exception as exc:  # noqa: BLE001 - the next TSA is asked; all failing is raised below
                text = f"{exc.__class__.__name__}: {exc}"
                self.outcomes[url] = (at, text)
                errors.append(f"{url}: {text}")
                log.warning("timestamping with %s failed, trying the next TSA: %s", url, text)
                continue
            self.outcomes[url] = (at, None)
            self.last_used = url
            return stamp
        raise TimestampingFailed("every chosen TSA failed: " + "; ".join(errors))


def failover_stamper(tsas: Sequence[Any], make: Callable[[Any], BatchStamper]) -> FailoverStamper:
    """A :class:`FailoverStamper` over ``tsas`` (approved entries in order), ``make`` building each one's stamper."""
    return FailoverStamper([(tsa.url, make(tsa)) for tsa in tsas])
