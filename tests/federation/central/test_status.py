"""``sild central status`` and ``GET /api/v1/diagnostics``: one report, against a running authority."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import httpx
import pytest

from federation.central import central_status, central_status_lines
from federation.central.registry import CentralDir, build_anchor, init_central
from trust.protocol import MemberId

from tests.federation.central.central_support import PIN, CentralProcess, GatewayPki, free_port, sild, wait_for

TAX = MemberId("EE", "GOV", "70000001")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


@pytest.fixture
def authorities(tmp_path: Path) -> tuple[Path, Path]:
    """EE with an approved CA, a member and FI's external anchor trusted; FI only made."""
    for inst in ("EE", "FI"):
        init_central(str(tmp_path / inst.lower()), instance=inst, url=f"http://127.0.0.1:{free_port()}", pin=PIN,
                     now=_now())
    home = CentralDir(tmp_path / "ee")
    fi = CentralDir(tmp_path / "fi")
    try:
        fi_anchor = build_anchor(fi, internal=False, now=_now())
        home.registry().add_trusted_anchor("FI", fi_anchor, generated_at=_now())
        home.registry().add_member(TAX, "Tax Board")
    finally:
        home.close()
        fi.close()
    return tmp_path / "ee", tmp_path / "fi"


def test_a_running_authority_reports_what_gateways_will_meet(authorities: tuple[Path, Path], tmp_path: Path) -> None:
    ee, _fi = authorities
    pki = GatewayPki(tmp_path / "pki", "EE", _now())
    home = CentralDir(ee)
    registry = home.registry()
    fields = pki.ca_fields()
    registry.add_ca(fields["name"], fields["cert"], ocsp=fields["ocsp"],  # type: ignore[arg-type]
                    certificate_profile=fields["certificate_profile"])  # type: ignore[arg-type]
    key = registry.create_api_key("diagnostics", ["registration-officer"])
    node = CentralProcess(ee, free_port(), check_interval=0.2).wait_ready()
    try:
        document, _auth = pki.request(TAX.server("gw1"))
        submitted = httpx.post(node.url + "/api/v1/registration-requests", content=document,
                               headers={"Content-Type": "application/json"}, timeout=30)
        assert submitted.status_code == 202, submitted.text

        def published_everything() -> dict:
            report = httpx.get(node.url + "/api/v1/diagnostics", headers={"X-API-Key": key}, timeout=30).json()
            return report if report["published"]["serial"] == report["registry"]["serial"] else None

        report = wait_for(published_everything, what="the node publishes the registry's changes")
    finally:
        node.stop()
        pki.close()
    assert report["health"] == {"status": "ok", "code": "ok", "problems": []}
    assert report["published"]["valid"] is True
    assert report["published"]["expires_at"] > report["published"]["generated_at"]
    keys = {(k["kind"], k["status"]) for k in report["signing_keys"]}
    assert {("internal", "active"), ("external", "active")} <= keys
    assert all(k["certificate_expires_at"] > report["published"]["expires_at"] for k in report["signing_keys"])
    assert report["registration_requests"]["pending"] == 1
    [anchor] = report["trusted_anchors"]
    assert anchor["instance"] == "FI" and anchor["certificates_expire_at"] > report["published"]["expires_at"]
    printed = sild("central", "status", str(ee)).stdout.splitlines()
    assert printed[:2] == ["authority EE", "  health: OK"]
    assert any(line.startswith("  registration requests waiting: 1, oldest received 20") for line in printed)
    assert any(line.startswith(f"  trusted anchor FI (SHA-224 {anchor['sha224']}): signing certificates until 20")
               for line in printed)
    as_json = json.loads(sild("central", "status", str(ee), "--json").stdout)
    assert as_json["trusted_anchors"] == report["trusted_anchors"] and as_json["health"]["code"] == "ok"
    home.close()


def test_expiry_and_unpublished_changes_are_named(authorities: tuple[Path, Path]) -> None:
    ee, _fi = authorities
    home = CentralDir(ee)
    try:
        before = central_status(home, _now())
        assert before["health"]["code"] == "ok"
        # the member added by the fixture waits: without a node, nobody publishes it
        late = central_status(home, _now() + dt.timedelta(minutes=6))
        assert late["published"]["valid"] is True and late["health"]["status"] == "degraded"
        assert [p["code"] for p in late["health"]["problems"]] == ["federation.central.unpublished"]
        expired_at = dt.datetime.fromisoformat(before["published"]["expires_at"].replace("Z", "+00:00"))
        after = central_status(home, expired_at + dt.timedelta(seconds=1))
        assert (after["health"]["status"], after["health"]["code"]) == ("failing", "global_conf_outdated")
        assert "  health: FAILING: gateways get global_conf_outdated" in central_status_lines(after)
        years = central_status(home, _now() + dt.timedelta(days=365 * 30))
        codes = {p["code"] for p in years["health"]["problems"]}
        assert {"federation.central.key_expiring", "federation.central.anchor_expiring"} <= codes
    finally:
        home.close()
