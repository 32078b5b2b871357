"""The timestamping services a gateway may use and the ones it chose: the operator's view and choice.

Why: X-Road's security server shows its operator the TSAs the global configuration
approves, lets them choose which the server uses and in which order, and shows each
one's state. ``GET /api/v1/timestamping-services`` and ``sild gateway tsa list``
read :func:`timestamping_services`; ``PUT`` and ``sild gateway tsa use`` write the
choice with :func:`choose_timestamping_services`, which refuses a TSA the held
configuration does not approve (:class:`gateway.messagelog.TsaNotApproved`). The
running node follows the setting within seconds (:mod:`gateway.node._live`).

Each TSA's state is the diagnostics' own (:func:`gateway.node._health.tsa_status`:
last timestamp, last success and failure of the timestamper's attempts), not a second
verdict; this module adds only what an operator choosing needs to see (the TSA's
certificate subject and expiry).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Iterable

from gateway.settings import NodeSettings, SetupError, tsa_choice, with_changes

from ._health import tsa_status
from ._status import configuration_status


def _own_tsas(directory: Path, settings: NodeSettings, at: dt.datetime, confs: Any = None) -> list[Any]:
    """The approved TSAs of the held configuration of the own instance (none when none is held).

    ``confs``: what a node given its configuration from elsewhere holds (as for its status).
    """
    _, own = configuration_status(directory, settings, at, confs)
    return list(own.approved_tsas) if own is not None else []


def timestamping_services(directory: Path, at: dt.datetime, messagelog: Any = None, confs: Any = None) -> dict[str, Any]:
    """The approved TSAs (name, URL, certificate), whether and in which place each is used, and its state."""
    from cryptography import x509

    directory = Path(directory)
    settings = NodeSettings.load(directory)
    _, own = configuration_status(directory, settings, at, confs)
    if messagelog is None:
        from gateway.db import open_engine
        from gateway.messagelog import MessageLog

        messagelog = MessageLog(open_engine(settings.messagelog_database(directory)))
    services = tsa_status(messagelog, own, settings.timestamping_services)
    by_url = {t.url: t for t in (own.approved_tsas if own is not None else ())}
    for entry in services:
        cert = x509.load_der_x509_certificate(by_url[entry["url"]].cert)
        entry["certificate"] = {"subject": cert.subject.rfc4514_string(),
                                "not_after": cert.not_valid_after_utc.strftime("%Y-%m-%dT%H:%M:%SZ")}
    return {"chosen": list(settings.timestamping_services), "all_approved": not settings.timestamping_services,
            "services": services}


def choose_timestamping_services(directory: Path, chosen: Iterable[str], at: dt.datetime,
                                 confs: Any = None) -> NodeSettings:
    """Write ``timestamping_services`` after checking each entry against the held configuration.

    Refused (:class:`gateway.messagelog.TsaNotApproved`, nothing written): an entry
    that names no approved TSA of the own instance's configuration. Entries are kept
    as the approved TSA's URL, so the choice survives a renamed TSA.
    """
    from gateway.messagelog import choose_tsas

    directory = Path(directory)
    settings = NodeSettings.load(directory)
    wanted = tsa_choice(list(chosen))
    # none chosen stays none: every approved TSA, also those the authority approves later
    urls = [t.url for t in choose_tsas(_own_tsas(directory, settings, at, confs), wanted)] if wanted else []
    after = with_changes(settings, {"timestamping_services": urls})
    after.save(directory)
    return after


def check_timestamping_change(directory: Path, changes: dict[str, Any], at: dt.datetime, confs: Any = None) -> None:
    """``sild gateway set`` and ``PATCH /api/v1/settings`` refuse an unapproved TSA as ``tsa use`` does."""
    from gateway.messagelog import choose_tsas

    if "timestamping_services" not in changes:
        return
    value = changes["timestamping_services"]
    if not isinstance(value, (str, list, tuple)):
        raise SetupError(f"timestamping_services wants text or a list, not {value!r}")
    directory = Path(directory)
    choose_tsas(_own_tsas(directory, NodeSettings.load(directory), at, confs), tsa_choice(value))
