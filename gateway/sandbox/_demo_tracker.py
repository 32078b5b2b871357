"""``sild demo --tracker``: a Finnish person sees that the Estonian tax board read their tax record.

The data tracker (issue 20; docs/tracker.md) runs on the data owner's gateway: FI vero
has declared (in the sandbox topology) that ``getTaxRecord`` names its data subject at
``vero:getTaxRecord/vero:personCode``. This step makes the cross-border call (EE tax
asks FI vero about Matti) and then does what vero's citizen portal would: asks vero's
gateway, over its admin API with a key of role ``tracker`` (which can read nothing
else), who read Matti's data, and writes the printable report. An extra step behind an
option, so that ``make demo``'s seven steps and their output stay as they are.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from ._demo import Demo


def show_tracker(demo: "Demo") -> None:
    """Call, then read the tracker's answer for the person as the portal would."""
    from ._demo import GET_TAX_RECORD, MATTI_FI, TAX, VERO, DemoStepFailed

    exchange = demo._soap(TAX, GET_TAX_RECORD, demo._tax_body(MATTI_FI), purpose="tax-assessment")
    demo._show_call("EE tax -> FI vero", exchange)
    demo._expect(exchange.status == 200, f"getTaxRecord failed: {demo._fault(exchange) or exchange.status}")
    gateway = demo._gateway_of(VERO)
    directory = Path(gateway["directory"])
    bank_read = _purpose_bound(demo, directory)
    key = _portal_key(directory)
    demo.console.detail("citizen portal", "asks FI vero's gateway (API key role tracker)")
    deadline = time.monotonic() + 10  # the gateway writes its tracker entries every half second
    while True:
        entries = _entries(gateway, directory, key, MATTI_FI)
        ours = [e for e in entries if e["query_id"] == exchange.query_id]
        if ours and any(e["query_id"] == bank_read for e in entries):
            break
        if time.monotonic() > deadline:
            raise DemoStepFailed(f"the tracker has no entry for exchange {exchange.query_id} or {bank_read}")
        time.sleep(0.2)
    demo.console.detail("data subject", f"{MATTI_FI}: {len(entries)} read(s) recorded")
    for entry in entries[-3:]:  # the newest three: EE tax's and the bank's of this step, and one before
        demo.console.detail("  when", entry["time"][:19] + "Z")
        demo.console.detail("  who", entry["client"] + (f" (user {entry['user_id']})" if entry["user_id"] else ""))
        demo.console.detail("  what", entry["service"])
        demo.console.detail("  why", f"issue {entry['issue']!r}, purpose {entry['purpose'] or '-'}")
        demo.console.detail("  evidence", f"message-log record {entry['log_record_id']}")
    page = _report(gateway, directory, key, MATTI_FI)
    out = demo.root / "tracker-report.html"
    out.write_text(page, encoding="utf-8")
    demo.console.detail("report", str(out))
    demo._expect(ours[0]["client"] == TAX.to_text(), f"the tracker names {ours[0]['client']}, not EE tax")


LOAN = "loan-assessment"


def _purpose_bound(demo: "Demo", directory: Path) -> str:
    """vero grants EE bank its tax records for one purpose and one day; the bank asks without it, then with it."""
    import datetime as dt

    from trust.infra import utc_now

    from gateway.db import open_engine
    from gateway.serverconf import ServerConf, make_terms
    from gateway.settings import NodeSettings

    from ._demo import BANK, GET_TAX_RECORD, MATTI_FI, VERO

    engine = open_engine(NodeSettings.load(directory).serverconf_database(directory), migrate=False)
    try:
        ServerConf(engine).grant(VERO, GET_TAX_RECORD.service_code, BANK,
                                 terms=make_terms([LOAN], valid_until=utc_now() + dt.timedelta(days=1)))
    finally:
        engine.dispose()
    demo.console.detail("FI vero grants", f"EE bank getTaxRecord for {LOAN}, 1 day")
    deadline = time.monotonic() + 10  # the running node follows its server configuration within a second
    while True:
        refused = demo._soap(BANK, GET_TAX_RECORD, demo._tax_body(MATTI_FI))
        reason = _fault_reason(refused)
        if "purpose required" in reason or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    demo._show_call("EE bank -> FI vero", refused)
    demo.console.detail("fault", demo._fault(refused))
    demo.console.detail("reason", reason.split(";", 1)[0])
    demo._expect(refused.status != 200 and "purpose required" in reason,
                 f"the bank's call without a purpose was not refused for it: HTTP {refused.status} {reason!r}")
    answered = demo._soap(BANK, GET_TAX_RECORD, demo._tax_body(MATTI_FI), purpose=LOAN)
    demo._show_call(f"  with {LOAN}", answered)
    demo._expect(answered.status == 200, f"the bank's call with its purpose failed: {demo._fault(answered)}")
    return answered.query_id


def _fault_reason(exchange: Any) -> str:
    """The SOAP fault's ``faultstring`` (why the provider refused), or ''."""
    from trust.errors import XmlError
    from trust.infra import parse_xml

    try:
        root = parse_xml(exchange.body, what="fault")
    except XmlError:
        return ""
    return (root.findtext(".//faultstring") or "").strip()


def _portal_key(directory: Path) -> str:
    """A key of role ``tracker`` on vero's gateway, made the way ``sild gateway apikey create`` does."""
    from gateway.db import open_engine
    from gateway.serverconf import ServerConf, create_api_key
    from gateway.settings import NodeSettings

    engine = open_engine(NodeSettings.load(directory).serverconf_database(directory), migrate=False)
    try:
        return create_api_key(ServerConf(engine), ["tracker"], "citizen portal (demo)")[1]
    finally:
        engine.dispose()


def _get(gateway: dict[str, Any], directory: Path, key: str, path: str, **params: str) -> httpx.Response:
    from gateway.admin import admin_client_context

    with httpx.Client(verify=admin_client_context(directory), timeout=30.0, trust_env=False) as client:
        response = client.get(gateway["admin_url"] + path, params=params,
                              headers={"Authorization": f"Bearer {key}"})
    if response.status_code != 200:
        from ._demo import DemoStepFailed

        raise DemoStepFailed(f"the tracker answered HTTP {response.status_code}: {response.text[:200]}")
    return response


def _entries(gateway: dict[str, Any], directory: Path, key: str, subject: str) -> list[dict[str, Any]]:
    return list(_get(gateway, directory, key, f"/api/v1/tracker/subjects/{subject}").json()["entries"])


def _report(gateway: dict[str, Any], directory: Path, key: str, subject: str) -> str:
    return _get(gateway, directory, key, f"/api/v1/tracker/subjects/{subject}", format="html",
                owner="Finnish Tax Administration").text
