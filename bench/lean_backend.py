"""The bench's backend that costs nearly nothing: a REST echo and a SOAP echo.

    python bench/lean_backend.py PORT

It shares the two cores with the gateways it serves, so what it spends is taken from
them. One asyncio thread with h11 (already installed through httpx) answers a
kept-alive request in well under 0.1 ms of CPU; the cheroot server it replaced spent
~0.4 ms per request on handing each one from its selector thread to a pool thread.

* ``text/xml`` bodies: an X-Road SOAP service at its simplest, the header back as it
  came and the request element renamed ``<operation>Response``, as a producer's
  answer is shaped.
* anything else: the body back, as ``application/json``.

The listening backlog is 128: the gateways open their connections to it all at
once when a run starts, and a full backlog drops SYNs that are retried only after
a second.
"""

from __future__ import annotations

import asyncio
import sys

import h11
from lxml import etree

SOAP_NS = "http://schemas.xmlsoap.org/soap/envelope/"
PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
MAX_BODY = 16 * 1024 * 1024


def soap_echo(body: bytes) -> bytes:
    root = etree.fromstring(body, PARSER)
    request = root.find(f"{{{SOAP_NS}}}Body")[0]
    request.tag = request.tag + "Response"
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def answer(content_type: bytes, body: bytes) -> tuple[int, bytes, bytes]:
    """(status, content type, body) of the echo for one request."""
    if content_type.startswith(b"text/xml"):
        try:
            return 200, b"text/xml; charset=UTF-8", soap_echo(body)
        except (etree.XMLSyntaxError, TypeError, IndexError) as exc:
            return 400, b"text/plain", f"not a SOAP message: {exc}".encode()
    return 200, b"application/json", body


class EchoProtocol(asyncio.Protocol):
    """One connection: h11 parses, each complete request is answered at once (pipelining too)."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=64 * 1024)
        self.content_type = b""
        self.body: list[bytes] = []
        self.size = 0

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        try:
            self._events()
        except h11.RemoteProtocolError as exc:
            self._refuse(exc.error_status_hint, str(exc).encode())

    def eof_received(self) -> bool | None:
        self.conn.receive_data(b"")
        return None

    def _events(self) -> None:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.content_type = next((v for k, v in event.headers if k == b"content-type"), b"")
                self.body, self.size = [], 0
            elif isinstance(event, h11.Data):
                self.size += len(event.data)
                if self.size > MAX_BODY:
                    self._refuse(413, b"body too large")
                    return
                self.body.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                self._respond(*answer(self.content_type, b"".join(self.body)))
                if self.conn.our_state is h11.MUST_CLOSE:
                    self.transport.close()
                    return
                self.conn.start_next_cycle()
            elif isinstance(event, h11.ConnectionClosed):
                self.transport.close()
                return

    def _respond(self, status: int, content_type: bytes, body: bytes) -> None:
        headers = [(b"Content-Type", content_type), (b"Content-Length", str(len(body)).encode())]
        out = self.conn.send(h11.Response(status_code=status, headers=headers))
        out += self.conn.send(h11.Data(data=body)) + self.conn.send(h11.EndOfMessage())
        self.transport.write(out)

    def _refuse(self, status: int, message: bytes) -> None:
        if self.conn.our_state in (h11.IDLE, h11.SEND_RESPONSE):
            headers = [(b"Content-Type", b"text/plain"), (b"Content-Length", str(len(message)).encode()),
                       (b"Connection", b"close")]
            try:
                out = self.conn.send(h11.Response(status_code=status, headers=headers))
                self.transport.write(out + message)
            except h11.LocalProtocolError:
                pass
        self.transport.close()


async def serve(port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(EchoProtocol, "127.0.0.1", port, backlog=128)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1])))
