"""Service descriptions kept in step with their URL: refresh, URL change, delete (X-Road's vectors, real HTTP)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Iterator

import pytest

from gateway.db import open_engine
from gateway.serverconf import AlreadyExists, InvalidInput, ServerConf
from gateway.serverconf._errors import DescriptionNotFound
from trust.protocol import SubsystemId

from tests.support.static_http import static_files

T0 = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.timezone.utc)
PROVIDER = SubsystemId("EE", "GOV", "70000001", "tax")
CONSUMER = SubsystemId("EE", "COM", "20000002", "app")


@pytest.fixture
def conf(tmp_path: Path) -> ServerConf:
    conf = ServerConf(open_engine(tmp_path / "gw.db"), clock=lambda: T0, refresh_interval=0)
    conf.add_client(PROVIDER, state="REGISTERED")
    conf.add_client(CONSUMER)
    return conf


@pytest.fixture
def served(xroad: Path) -> Iterator[tuple[str, dict[str, bytes]]]:
    with static_files() as (base, files):
        yield base, files


def _wsdl(xroad: Path, name: str) -> bytes:
    return (xroad / "services" / "wsdl" / name).read_bytes()


def _codes(conf: ServerConf) -> set[str]:
    return {s.id.service_code for s in conf.snapshot().services_of(PROVIDER)}


def _granted(conf: ServerConf) -> set[tuple[str, str, str]]:
    return {(r.service_code, r.endpoint.method, r.endpoint.path) for r in conf.list_rights(PROVIDER)}


def test_wsdl_refresh_keeps_rights_state_and_settings_of_remaining_services(
    conf: ServerConf, served: tuple[str, dict[str, bytes]], xroad: Path
) -> None:
    base, files = served
    files["/svc.wsdl"] = _wsdl(xroad, "valid.wsdl")
    desc = conf.add_wsdl(PROVIDER, f"{base}/svc.wsdl")
    assert desc.disabled and desc.disabled_notice == "Out of order"  # X-Road: disabled until enabled
    conf.set_service_enabled(PROVIDER.service("xroadGetRandom", "v1"), True)
    conf.update_service(PROVIDER.service("xroadGetRandom", "v1"), timeout_seconds=7, tls_verify=False)
    conf.grant(PROVIDER, "xroadGetRandom", CONSUMER)
    conf.grant(PROVIDER, "xroadSmallAttachment", CONSUMER)

    unchanged = conf.refresh_description(desc.id)
    assert unchanged.unchanged

    files["/svc.wsdl"] = _wsdl(xroad, "valid-getrandom.wsdl")  # the provider dropped two operations
    result = conf.refresh_description(desc.id)
    assert result.removed == ("xroadBigAttachment", "xroadSmallAttachment") and result.added == ()
    assert _codes(conf) == {"xroadGetRandom"}
    assert _granted(conf) == {("xroadGetRandom", "*", "**")}
    kept = conf.snapshot().service(PROVIDER.service("xroadGetRandom", "v1"))
    assert kept is not None and not kept.disabled and kept.timeout_seconds == 7 and not kept.tls_verify

    files["/svc.wsdl"] = _wsdl(xroad, "valid.wsdl")  # ... and brought them back
    result = conf.refresh_description(desc.id)
    assert result.added == ("xroadBigAttachment", "xroadSmallAttachment") and result.removed == ()
    back = conf.snapshot().service(PROVIDER.service("xroadSmallAttachment", "v1"))
    assert back is not None and not back.disabled and back.timeout_seconds == 7  # the description's state
    assert _granted(conf) == {("xroadGetRandom", "*", "**")}  # rights are not resurrected


def test_a_failed_refresh_changes_nothing(conf: ServerConf, served: tuple[str, dict[str, bytes]], xroad: Path) -> None:
    base, files = served
    files["/svc.wsdl"] = _wsdl(xroad, "valid.wsdl")
    desc = conf.add_wsdl(PROVIDER, f"{base}/svc.wsdl")
    conf.grant(PROVIDER, "xroadGetRandom", CONSUMER)
    files["/svc.wsdl"] = _wsdl(xroad, "xxe.wsdl")
    with pytest.raises(InvalidInput, match="WSDL"):
        conf.refresh_description(desc.id)
    del files["/svc.wsdl"]
    with pytest.raises(Exception, match="HTTP 404"):
        conf.refresh_description(desc.id)
    assert _codes(conf) == {"xroadGetRandom", "xroadSmallAttachment", "xroadBigAttachment"}
    assert _granted(conf) == {("xroadGetRandom", "*", "**")}
    with pytest.raises(DescriptionNotFound):
        conf.refresh_description(desc.id + 100)


def test_url_change_reads_the_new_document(conf: ServerConf, served: tuple[str, dict[str, bytes]], xroad: Path) -> None:
    base, files = served
    files["/a.wsdl"] = _wsdl(xroad, "valid.wsdl")
    files["/b.wsdl"] = _wsdl(xroad, "valid-additional-services.wsdl")
    desc = conf.add_wsdl(PROVIDER, f"{base}/a.wsdl")
    result = conf.set_description_url(desc.id, f"{base}/b.wsdl")
    assert result.description.url == f"{base}/b.wsdl"
    assert set(result.added) == {"getRandom", "helloService"} and len(result.removed) == 3
    assert _codes(conf) == {"getRandom", "helloService"}
    with pytest.raises(Exception, match="HTTP 404"):
        conf.set_description_url(desc.id, f"{base}/missing.wsdl")
    assert conf.list_descriptions(PROVIDER)[0].url == f"{base}/b.wsdl"
    # a refresh may not take a code another description of the provider already offers
    files["/c.wsdl"] = _wsdl(xroad, "valid.wsdl")
    other = conf.add_wsdl(PROVIDER, f"{base}/c.wsdl")
    with pytest.raises(AlreadyExists, match="xroadGetRandom"):
        conf.set_description_url(desc.id, f"{base}/c.wsdl")
    conf.remove_description(other.id)


def test_openapi_refresh_follows_the_paths(conf: ServerConf, served: tuple[str, dict[str, bytes]], xroad: Path) -> None:
    base, files = served
    files["/api.yaml"] = (xroad / "services" / "openapi" / "valid.yaml").read_bytes()
    desc = conf.add_openapi(PROVIDER, f"{base}/api.yaml", "testapi", enabled=True)
    conf.add_endpoint(PROVIDER, "testapi", "DELETE", "/mine")  # the operator's own endpoint stays
    conf.grant(PROVIDER, "testapi", CONSUMER, method="GET", path="/test")
    conf.grant(PROVIDER, "testapi", CONSUMER, method="POST", path="/test")
    files["/api.yaml"] = (xroad / "services" / "openapi" / "valid_modified.yaml").read_bytes()
    result = conf.refresh_description(desc.id)
    assert result.changed == ("testapi",) and not result.added and not result.removed
    eps = {(e.method, e.path) for e in conf.snapshot().endpoints_of(PROVIDER, "testapi")}
    assert eps == {("*", "**"), ("GET", "/test"), ("PATCH", "/test"), ("GET", "/foo"), ("DELETE", "/mine")}
    assert _granted(conf) == {("testapi", "GET", "/test")}
    assert not conf.snapshot().services_of(PROVIDER)[0].disabled


def test_rest_has_no_refresh_but_moves_with_its_url(conf: ServerConf) -> None:
    desc = conf.add_rest(PROVIDER, "http://127.0.0.1:9/api", "persons")
    with pytest.raises(InvalidInput, match="REST"):
        conf.refresh_description(desc.id)
    conf.grant(PROVIDER, "persons", CONSUMER)
    conf.set_description_url(desc.id, "http://127.0.0.1:9/v2")
    info = conf.snapshot().service(PROVIDER.service("persons"))
    assert info is not None and info.url == "http://127.0.0.1:9/v2" and info.disabled
    assert _granted(conf) == {("persons", "*", "**")}
    with pytest.raises(InvalidInput, match="URL"):
        conf.set_description_url(desc.id, "")
    conf.remove_description(desc.id)
    assert _codes(conf) == set() and _granted(conf) == set()


def test_a_backend_the_operator_chose_survives_a_refresh(
    conf: ServerConf, served: tuple[str, dict[str, bytes]], xroad: Path
) -> None:
    base, files = served
    files["/api.yaml"] = (xroad / "services" / "openapi" / "valid.yaml").read_bytes()
    api = conf.add_openapi(PROVIDER, f"{base}/api.yaml", "testapi", backend_url="http://10.0.0.5:8080/api")
    files["/svc.wsdl"] = _wsdl(xroad, "valid.wsdl")
    wsdl = conf.add_wsdl(PROVIDER, f"{base}/svc.wsdl")
    documented = conf.snapshot().service(PROVIDER.service("xroadSmallAttachment", "v1"))
    conf.update_service(PROVIDER.service("xroadGetRandom", "v1"), url="http://10.0.0.6/soap")
    files["/api.yaml"] = (xroad / "services" / "openapi" / "valid_modified.yaml").read_bytes()
    conf.refresh_description(api.id)
    conf.refresh_description(wsdl.id)
    snap = conf.snapshot()
    assert snap.service(PROVIDER.service("testapi")).url == "http://10.0.0.5:8080/api"  # type: ignore[union-attr]
    assert snap.service(PROVIDER.service("xroadGetRandom", "v1")).url == "http://10.0.0.6/soap"  # type: ignore[union-attr]
    assert documented is not None
    assert snap.service(PROVIDER.service("xroadSmallAttachment", "v1")).url == documented.url  # type: ignore[union-attr]
