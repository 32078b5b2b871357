"""The safe XML parser refuses every classic attack with its own error."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from trust.errors import XmlError, XmlForbiddenConstruct, XmlTooDeep, XmlTooLarge
from trust.infra import parse_xml

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

QUADRATIC = b'<!DOCTYPE q [<!ENTITY a "' + b"x" * 50000 + b'">]><q>' + b"&a;" * 1000 + b"</q>"

XXE_FILE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<r>&xxe;</r>"""

PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "http://127.0.0.1:{port}/evil.dtd"> %p;]>
<r/>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:{port}/evil.dtd">
<r/>"""

UTF16_DTD = '<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE r [<!ENTITY a "b">]><r>&a;</r>'.encode("utf-16")


@pytest.fixture
def listener():
    """A loopback HTTP server that records whether anybody fetched from it."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server API
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'<!ENTITY leak "leaked">')

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    "data",
    [BILLION_LAUGHS, QUADRATIC, XXE_FILE, UTF16_DTD],
    ids=["billion-laughs", "quadratic-blowup", "xxe-file", "utf16-dtd"],
)
def test_dtd_attacks_are_refused(data):
    with pytest.raises(XmlForbiddenConstruct):
        parse_xml(data)


@pytest.mark.parametrize("template", [PARAMETER_ENTITY, EXTERNAL_DTD], ids=["parameter-entity", "external-dtd"])
def test_no_network_access(template, listener):
    port, hits = listener
    with pytest.raises(XmlForbiddenConstruct):
        parse_xml(template.replace(b"{port}", str(port).encode()))
    assert hits == []


def test_size_limit_is_checked_before_parsing():
    with pytest.raises(XmlTooLarge):
        parse_xml(b"<a>" + b"x" * 2000 + b"</a>", max_bytes=1000)


def test_depth_limit():
    deep = b"<a>" * 200 + b"</a>" * 200
    with pytest.raises(XmlTooDeep):
        parse_xml(deep, max_depth=100)
    assert parse_xml(b"<a>" * 50 + b"</a>" * 50, max_depth=100).tag == "a"


@pytest.mark.parametrize("data", [b"", b"   ", b"<a>", b"<a></b>", b"not xml", b"<a>&undefined;</a>"])
def test_malformed_xml_is_refused(data):
    with pytest.raises(XmlError):
        parse_xml(data)


def test_text_is_refused_bytes_are_required():
    with pytest.raises(TypeError):
        parse_xml("<a/>")  # type: ignore[arg-type]


def test_good_documents_parse_with_encodings_and_bom():
    assert parse_xml(b"\xef\xbb\xbf<a>\xc3\xa4</a>").text == "\u00e4"
    latin = '<?xml version="1.0" encoding="ISO-8859-1"?><a>\u00e4</a>'.encode("latin-1")
    assert parse_xml(latin).text == "\u00e4"
    assert parse_xml('<a>\u00e4</a>'.encode("utf-16")).text == "\u00e4"
