"""REST r1 from outside: the request path, the ``X-Road-*`` headers, the header part between gateways."""

from __future__ import annotations

from hypothesis import example, given, strategies as st

from trust.errors import SildError
from trust.protocol import parse_header_part
from trust.protocol._rest import parse_path, read_xroad_headers, request_header_part, response_header_part

from tests.fuzz.support import Seeds, answers, mutated

PATHS = ("/r1/EE/GOV/70000001/tax/getTax", "/r1/FI/GOV/0245437-2/vero/files/public/a.txt?x=1&y=%2F",
         "/r1/EE/COM/123/sub/svc/v1/items/42", "/r1/EE/GOV/1/s/listMethods")
_PATH_CHARS = st.sampled_from(list("/r1EGOV.-_~%2e%2f%5c%00?&=#;:@\\ \t") + ["%2E", "%2F", "..", "%", "%zz", "\u00e4", "\x00"])
paths = st.one_of(
    st.text(max_size=120),
    st.builds(lambda base, cut, extra: base[:cut] + extra + base[cut:], st.sampled_from(PATHS),
              st.integers(0, 60), st.lists(_PATH_CHARS, max_size=8).map("".join)),
)


@given(paths)
@example("/r1/EE/GOV/1/sub/svc/%")  # a lone percent sign in the rest of the path
def test_rest_paths_answer_a_target_or_a_fault(path: str) -> None:
    target = answers(parse_path, path)
    if not isinstance(target, SildError):
        assert path.startswith("/r1/") and target.service.service_code


_HEADER_NAMES = st.sampled_from(("X-Road-Client", "x-road-client", "X-Road-Id", "X-Road-UserId", "X-Road-Issue",
                                 "X-Road-Security-Server", "X-Road-Represented-Party", "Content-Type", "X-Other"))
_CLIENTS = ("EE/GOV/70000001/tax", "EE/GOV/70000001", "EE/GOV/1/ss1", "COM/123", "EE/GOV/1/a/b")
header_values = st.one_of(st.text(max_size=60), st.builds(lambda b, c, e: b[:c] + e + b[c:],
                                                            st.sampled_from(_CLIENTS), st.integers(0, 20),
                                                            st.lists(_PATH_CHARS, max_size=4).map("".join)))


@given(st.lists(st.tuples(_HEADER_NAMES, header_values), max_size=8))
def test_xroad_headers_answer_values_or_a_fault(headers: list[tuple[str, str]]) -> None:
    answers(read_xroad_headers, headers)


_HEADER_PARTS = Seeds("REST header parts", [
    request_header_part("POST", "/r1/EE/GOV/1/sub/svc?x=1", [("X-Road-Client", "EE/GOV/2/a"), ("Content-Type", "a/b")]),
    response_header_part(200, "OK", [("Content-Type", "text/plain"), ("X-Road-Request-Hash", "abc")]),
])


@given(mutated(_HEADER_PARTS, tokens=(b"\r\n", b":", b"\x00", b"\xff", b"200", b"-1", b"99999999999999999999")),
       st.booleans())
def test_rest_header_parts_answer_a_header_part_or_a_fault(raw: bytes, request: bool) -> None:
    answers(parse_header_part, raw, request=request)
