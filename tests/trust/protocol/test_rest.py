"""REST r1 message layer: paths, X-Road headers, header filtering, header parts, hashes."""

from __future__ import annotations

import base64
import hashlib

import pytest

from trust.protocol import _faults as faults
from trust.protocol import XRoadFault
from trust.protocol._rest import (
    HashingBody, filter_headers, parse_header_part, parse_path, read_xroad_headers, request_header_part,
    response_header_part, rest_request_hash, service_path,
)
from trust.protocol import MemberId, RepresentedParty, SecurityServerId, ServiceId, SubsystemId


def test_parse_path_percent_decodes_each_part() -> None:
    target = parse_path("/r1/EE/GOV/700-01/sub%20a/getPerson/persons/1%202", "x=1&y=%20")
    assert target.service == ServiceId("EE", "GOV", "700-01", "sub a", "getPerson")
    assert target.path == "/persons/1%202"  # the rest stays raw
    assert target.query == "x=1&y=%20"
    assert target.path_and_query == "/persons/1%202?x=1&y=%20"
    assert parse_path("/r1/EE/GOV/1/sub/svc?a=b").query == "a=b"
    assert parse_path("/r1/EE/GOV/1/sub/svc").path == ""
    assert parse_path("/r1/EE/GOV/1/sub/svc/").path == "/"


@pytest.mark.parametrize("path", ["/r1/EE/GOV/1/svc", "/r2/EE/GOV/1/sub/svc", "r1/EE/GOV/1/sub/svc", "/r1/EE//1/sub/svc", "/"])
def test_parse_path_refuses(path: str) -> None:
    with pytest.raises(XRoadFault):
        parse_path(path)


def test_service_path_round_trip() -> None:
    service = ServiceId("EE", "GOV", "a b", "s s", "get")
    assert service_path(service) == "/r1/EE/GOV/a%20b/s%20s/get"
    assert parse_path(service_path(service)).service == service


def test_xroad_headers_last_client_wins() -> None:
    headers = [
        ("X-Road-Client", "EE/GOV/1/first"),
        ("x-road-client", "EE/GOV/2"),
        ("X-Road-Id", "id-1"),
        ("X-Road-UserId", "EE123"),
        ("X-Road-Issue", "iss"),
        ("X-Road-Security-Server", "EE/COM/3/ss1"),
        ("X-Road-Represented-Party", "COM/P1"),
    ]
    read = read_xroad_headers(headers)
    assert read.client == MemberId("EE", "GOV", "2")
    assert (read.query_id, read.user_id, read.issue) == ("id-1", "EE123", "iss")
    assert read.security_server == SecurityServerId("EE", "COM", "3", "ss1")
    assert read.represented_party == RepresentedParty("P1", "COM")
    assert read_xroad_headers([("X-Road-Client", "EE/GOV/1/sub")]).client == SubsystemId("EE", "GOV", "1", "sub")


@pytest.mark.parametrize("headers,code", [([], "missing_header_field"), ([("X-Road-Client", "EE/GOV")], "invalid_client_identifier")])
@pytest.mark.conformance(area="rest", expected="refused with {code}")
def test_xroad_client_refused(headers: list[tuple[str, str]], code: str) -> None:
    with pytest.raises(XRoadFault) as info:
        read_xroad_headers(headers)
    assert info.value.fault_code == code
    assert info.value.at(faults.CLIENT).fault_code == f"client.{code}"


@pytest.mark.parametrize("name,value,code", [
    ("X-Road-Client", "EE/GOV", "invalid_client_identifier"),
    ("X-Road-Security-Server", "EE/COM/3", "invalid_security_server"),
    ("X-Road-Represented-Party", "a/b/c", "invalid_request"),
])
@pytest.mark.conformance(area="rest", expected="{name}: {value!r} refused with {code}")
def test_a_malformed_identifier_header_is_refused_by_name(name: str, value: str, code: str) -> None:
    headers = [("X-Road-Client", "EE/GOV/1"), (name, value)]
    with pytest.raises(XRoadFault) as info:
        read_xroad_headers(headers)
    assert info.value.fault_code == code
    assert info.value.message.startswith(f"invalid {name}: ")


def test_empty_optional_identifier_headers_are_absent() -> None:
    read = read_xroad_headers([("X-Road-Client", "EE/GOV/1"), ("X-Road-Security-Server", ""),
                               ("X-Road-Represented-Party", "")])
    assert (read.security_server, read.represented_party) == (None, None)


@pytest.mark.conformance(area="rest")
def test_filter_headers() -> None:
    headers = [
        ("Host", "ss"), ("User-Agent", "curl"), ("Content-Length", "3"), ("Expect", "100-continue"),
        ("Connection", "keep-alive, X-Secret"), ("Keep-Alive", "5"), ("Transfer-Encoding", "chunked"),
        ("TE", "trailers"), ("Trailer", "x"), ("Upgrade", "h2c"), ("Proxy-Authorization", "p"), ("X-Secret", "s"),
        ("Server", "x"), ("X-Road-Request-Id", "forged"), ("x-road-request-hash", "forged"),
        ("Authorization", "Bearer eyJ"), ("Accept", "application/json"), ("X-Road-Client", "EE/GOV/1/a"), ("X-Custom", "1"),
    ]
    assert filter_headers(headers) == [
        ("Authorization", "Bearer eyJ"), ("Accept", "application/json"), ("X-Road-Client", "EE/GOV/1/a"), ("X-Custom", "1"),
    ]


@pytest.mark.conformance(area="rest")
def test_header_parts_exact_format() -> None:
    part = request_header_part("get", "/r1/EE/GOV/1/sub/svc/x?y=1", [("X-Road-Client", "EE/GOV/2/a"), ("Accept", "*/*")])
    assert part == b"GET\r\n/r1/EE/GOV/1/sub/svc/x?y=1\r\nX-Road-Client:EE/GOV/2/a\r\nAccept:*/*"
    parsed = parse_header_part(part, request=True)
    assert (parsed.method, parsed.path, parsed.headers) == ("GET", "/r1/EE/GOV/1/sub/svc/x?y=1", (("X-Road-Client", "EE/GOV/2/a"), ("Accept", "*/*")))
    response = response_header_part(200, "OK", [("Content-Type", "application/json"), ("X-Road-Id", "a:b")])
    assert response == b"200\r\nOK\r\nContent-Type:application/json\r\nX-Road-Id:a:b"
    parsed = parse_header_part(response, request=False)
    assert (parsed.status, parsed.reason, parsed.headers[1]) == (200, "OK", ("X-Road-Id", "a:b"))
    assert response_header_part(204, "No Content", []) == b"204\r\nNo Content"
    with pytest.raises(XRoadFault):
        request_header_part("GET", "/r1/x", [("X-Evil", "a\r\nInjected:1")])
    with pytest.raises(XRoadFault):
        request_header_part("GE T", "/r1/x", [])
    with pytest.raises(XRoadFault):
        parse_header_part(b"abc\r\nOK", request=False)


@pytest.mark.conformance(area="rest")
def test_request_hash_definition() -> None:
    part = request_header_part("POST", "/r1/EE/GOV/1/sub/svc", [("Content-Type", "text/plain")])
    body = b"hello body" * 1000
    body_iter = HashingBody(iter([body[:7], b"", body[7:]]))
    assert b"".join(body_iter) == body
    assert body_iter.size == len(body)
    expected = base64.b64encode(hashlib.sha512(hashlib.sha512(part).digest() + hashlib.sha512(body).digest()).digest()).decode()
    assert rest_request_hash(part, body_iter.digest) == expected
    empty = HashingBody(iter([]))
    list(empty)
    assert empty.digest is None
    assert rest_request_hash(part, None) == base64.b64encode(hashlib.sha512(part).digest()).decode()


def test_hashing_body_bounded_and_must_finish() -> None:
    body = HashingBody(iter([b"x" * 10, b"y" * 10]), limit=15)
    with pytest.raises(XRoadFault):
        list(body)
    unfinished = HashingBody(iter([b"a"]))
    with pytest.raises(RuntimeError):
        _ = unfinished.digest


@pytest.mark.conformance(area="rest")
def test_consumer_and_provider_headers() -> None:
    from trust.protocol._rest import consumer_request_headers, provider_response_headers

    incoming = [("Host", "ss"), ("X-Road-Client", "EE/GOV/1/a"), ("X-Road-Request-Id", "forged"), ("Accept", "*/*")]
    out = consumer_request_headers(incoming, request_id="rid", query_id="EE-qid")
    assert out == [("X-Road-Client", "EE/GOV/1/a"), ("Accept", "*/*"), ("X-Road-Id", "EE-qid"), ("X-Road-Request-Id", "rid")]
    with_id = consumer_request_headers(incoming + [("X-Road-Id", "mine")], request_id="rid", query_id="unused")
    assert ("X-Road-Id", "mine") in with_id and ("X-Road-Id", "unused") not in with_id
    client, service = SubsystemId("EE", "GOV", "1", "a"), ServiceId("EE", "COM", "2", "b", "svc")
    response = provider_response_headers(
        [("Content-Type", "application/json"), ("X-Road-Request-Hash", "forged"), ("Transfer-Encoding", "chunked")],
        client=client, service=service, query_id="q", request_id="rid", request_hash="h==",
    )
    assert response == [
        ("Content-Type", "application/json"), ("X-Road-Client", "EE/GOV/1/a"), ("X-Road-Service", "EE/COM/2/b/svc"),
        ("X-Road-Id", "q"), ("X-Road-Request-Id", "rid"), ("X-Road-Request-Hash", "h=="),
    ]


@pytest.mark.parametrize("rest", [
    "/public/../secret", "/public/./secret", "/..", "/public/%2e%2e/secret", "/public/%2E./secret",
    "/public/..%2fsecret", "/a%2Fb", "/a%5cb", "/a\\b", "/a%00b", "/a%2500", "/public/..;jsessionid=1/secret",
])
@pytest.mark.conformance(area="rest", expected="{rest} refused")
def test_paths_a_backend_could_read_otherwise_are_refused(rest: str) -> None:
    """The provider decides on exactly the path it forwards: sild refuses dot segments,
    encoded dots, slashes, backslashes, percent signs and NUL instead of normalising (issue 15)."""
    with pytest.raises(XRoadFault) as info:
        parse_path("/r1/EE/GOV/1/sub/svc" + rest)
    assert info.value.fault_code == "invalid_request" and "must not contain" in info.value.message


@pytest.mark.parametrize("rest", ["/public/file.txt", "/a%20b/c", "/v1.0/x..y/.hidden/..z", "/a;b=c", "/", ""])
def test_ordinary_paths_pass_unchanged(rest: str) -> None:
    assert parse_path("/r1/EE/GOV/1/sub/svc" + rest + "?q=%2e%2e").path == rest


def test_a_path_without_subsystem_names_the_form() -> None:
    with pytest.raises(XRoadFault, match=r"/r1/\{instance\}/\{class\}/\{member\}/\{subsystem\}/\{service\}"):
        parse_path("/r1/FI/GOV/0245437-2/income")


def test_xroad_header_sizes_are_bounded() -> None:
    from trust.protocol import check_xroad_header_sizes

    check_xroad_header_sizes([("X-Road-Id", "x" * 255), ("X-Road-Client", "EE/GOV/1")])
    for name in ("X-Road-Id", "X-Road-UserId", "x-road-issue"):
        with pytest.raises(XRoadFault, match="longer than 255") as info:
            check_xroad_header_sizes([(name, "x" * 1000)])
        assert info.value.fault_code == "invalid_request"
