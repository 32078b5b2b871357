"""The terms a grant may carry beyond X-Road's: purposes and a validity window (issue 20).

X-Road's access right says only *who* may call *what*. A data owner often may give
data only for a stated reason and only for a while (a tax assessment this year, a
court case until it closes). So a right may also name:

* **purposes**: codes the data owner defines (``tax-assessment``). A request under such
  a right must declare one of them (:mod:`trust.protocol._purpose`: a signed SOAP header
  element or REST header), or it is refused;
* a **validity window** ``[valid_from, valid_until)``: before it the right does not yet
  hold, from ``valid_until`` on it has expired. Nothing runs to expire it: every request
  is checked against the gateway's clock, so an expired grant is refused at the first
  request after ``valid_until``, on every node of a cluster alike.

A right without purposes or window behaves exactly as X-Road's. When a client holds
several rights that match a request, one that admits it is enough; if none does, the
refusal names the most useful reason (:func:`refusal`): a right that holds now but for
other purposes says more than one that expired.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Iterable, Sequence

from trust.protocol import check_purpose

from ._errors import InvalidInput

PURPOSE_REQUIRED = "purpose required"
PURPOSE_NOT_GRANTED = "purpose not granted"
NOT_YET_VALID = "grant not yet valid"
EXPIRED = "grant expired"
REASONS = (PURPOSE_REQUIRED, PURPOSE_NOT_GRANTED, NOT_YET_VALID, EXPIRED)
"""The reasons a refusal's message starts with, most useful first (see :func:`refusal`)."""
MAX_PURPOSES = 32


@dataclass(frozen=True)
class GrantTerms:
    """What a grant adds to X-Road's right; the empty terms (:data:`NO_TERMS`) add nothing."""

    purposes: tuple[str, ...] = ()
    valid_from: dt.datetime | None = None
    valid_until: dt.datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.purposes and self.valid_from is None and self.valid_until is None

    def holds_at(self, at: dt.datetime) -> bool:
        """Within the validity window (``allowedMethods`` lists only rights that hold now)."""
        return (self.valid_from is None or at >= self.valid_from) and (self.valid_until is None or at < self.valid_until)

    def problem(self, purpose: str | None, at: dt.datetime) -> str | None:
        """Why this right does not admit a request declaring ``purpose`` at ``at`` (a message
        starting with one of :data:`REASONS`), or ``None`` if it does."""
        if self.valid_from is not None and at < self.valid_from:
            return f"{NOT_YET_VALID}: the right holds from {_text(self.valid_from)}"
        if self.valid_until is not None and at >= self.valid_until:
            return f"{EXPIRED}: the right held until {_text(self.valid_until)}"
        if not self.purposes:
            return None
        if purpose is None:
            return (f"{PURPOSE_REQUIRED}: the right holds only for a declared purpose ({', '.join(self.purposes)}); "
                    "the request declares none")
        if purpose not in self.purposes:
            return f"{PURPOSE_NOT_GRANTED}: {purpose!r} is not among the right's purposes ({', '.join(self.purposes)})"
        return None

    def purposes_json(self) -> str | None:
        """The purposes as stored in ``access_right.purposes`` (NULL when there are none)."""
        return json.dumps(list(self.purposes)) if self.purposes else None

    def as_json(self) -> dict[str, object]:
        """The terms as the admin API and ``access list --json`` show them."""
        return {"purposes": list(self.purposes),
                "valid_from": _text(self.valid_from) if self.valid_from else None,
                "valid_until": _text(self.valid_until) if self.valid_until else None}


NO_TERMS = GrantTerms()


def _text(moment: dt.datetime) -> str:
    return moment.astimezone(dt.timezone.utc).isoformat().replace("+00:00", "Z")


def make_terms(purposes: Iterable[str] = (), valid_from: dt.datetime | None = None,
               valid_until: dt.datetime | None = None) -> GrantTerms:
    """Checked terms: well-formed, distinct purpose codes (order kept), an aware and non-empty window."""
    codes: list[str] = []
    for code in purposes:
        try:
            check_purpose(code)
        except ValueError as exc:
            raise InvalidInput(str(exc)) from None
        if code not in codes:
            codes.append(code)
    if len(codes) > MAX_PURPOSES:
        raise InvalidInput(f"a grant names at most {MAX_PURPOSES} purposes, not {len(codes)}")
    for name, moment in (("valid_from", valid_from), ("valid_until", valid_until)):
        if moment is not None and moment.tzinfo is None:
            raise InvalidInput(f"{name} must carry a time zone (e.g. 2027-01-01T00:00:00Z)")
    if valid_from is not None and valid_until is not None and valid_until <= valid_from:
        raise InvalidInput(f"valid_until ({_text(valid_until)}) must be after valid_from ({_text(valid_from)})")
    return GrantTerms(tuple(codes), valid_from, valid_until)


def stored_terms(purposes: str | None, valid_from: dt.datetime | None, valid_until: dt.datetime | None) -> GrantTerms:
    """The terms of an ``access_right`` row (written by :func:`make_terms`, so not checked again)."""
    return GrantTerms(tuple(json.loads(purposes)) if purposes else (), valid_from, valid_until)


def parse_instant(text: str | None, what: str) -> dt.datetime | None:
    """An operator's ``--valid-from``/``--valid-until``: ISO 8601 with a zone, or a date (00:00 UTC)."""
    if text is None or not text.strip():
        return None
    raw = text.strip()
    try:
        if len(raw) == 10:
            return dt.datetime.combine(dt.date.fromisoformat(raw), dt.time(), dt.timezone.utc)
        moment = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{what} {raw[:40]!r} is not a date (2027-01-01) or an ISO 8601 time with a zone "
                           "(2027-01-01T08:00:00+02:00)") from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{what} {raw[:40]!r} has no time zone; add Z or an offset such as +02:00")
    return moment


def refusal(terms: Sequence[GrantTerms], purpose: str | None, at: dt.datetime) -> str | None:
    """``None`` if any of the matching rights' ``terms`` admits the request; else the most
    useful reason (order of :data:`REASONS`: what the client can fix by itself first)."""
    problems: list[str] = []
    for t in terms:
        found = t.problem(purpose, at)
        if found is None:
            return None
        problems.append(found)
    if not problems:
        raise ValueError("refusal() needs the terms of at least one matching right")
    return min(problems, key=lambda p: next(i for i, r in enumerate(REASONS) if p.startswith(r)))
