"""How the client proxy answers a caller that it cannot serve: in the caller's protocol.

An information system talks to its gateway in one of a few forms, and an error must
read in the form the caller used, or the caller's library shows a parse error instead
of the reason (issue 14):

* REST (anything under ``/r1/``) gets X-Road's REST error: status 400 or 500,
  ``X-Road-Error`` and a JSON body ``{type, message, detail}`` (XML when ``Accept``
  asks for it);
* the GET metaservices (``/listClients``, ``/wsdl``, ``/verificationconf``) answer a
  caller that asks for JSON (``Accept: application/json``) in the same REST form, and
  everyone else with a SOAP fault, as X-Road does;
* SOAP (a POST anywhere else: X-Road ignores the path) gets a SOAP 1.1 fault with 500;
* a path that is none of these (``/r2/...``, a typo) is a plain ``404`` naming the forms
  the gateway speaks, not a SOAP fault about HTTP methods; a non-POST request to ``/``
  stays X-Road's ``client.invalid_http_method``.
"""

from __future__ import annotations

import re

from trust.protocol import XRoadFault, wants_xml

from ._flow import Reply

SOAP_PATH = "/"
REST_PREFIX = "/r1/"
GET_PATHS = frozenset({"/listClients", "/wsdl", "/verificationconf"})

FORMS = (
    "This X-Road gateway serves:\n"
    "  POST /                                   SOAP message protocol 4.0\n"
    "  ANY  /r1/{instance}/{class}/{member}/{subsystem}/{service}[/path]   REST message protocol r1\n"
    "  GET  /listClients[?xRoadInstance=XX]     the members and subsystems of an instance\n"
    "  GET  /wsdl?xRoadInstance=..&memberClass=..&memberCode=..&subsystemCode=..&serviceCode=..\n"
    "  GET  /verificationconf                   the verification configuration\n"
    "  GET  /schemas/{name}.xsd                 the schemas the served WSDLs import\n"
)

# another REST protocol version than r1 (X-Road has only r1)
_OTHER_REST_VERSION = re.compile(r"^/r\d+(/|$)")


def unsupported_path(method: str, path: str) -> bool:
    """Is ``path`` none of the forms the gateway speaks? A POST is SOAP wherever it goes
    (X-Road ignores the path), unless the path names another REST version (``/r2/``)."""
    if path.startswith(REST_PREFIX):
        return False
    if _OTHER_REST_VERSION.match(path):
        return True
    if method == "POST" or path == SOAP_PATH:
        return False
    return path not in GET_PATHS and not path.startswith("/schemas/")


def not_found(method: str, path: str) -> Reply:
    """The plain 404 for :func:`unsupported_path`."""
    shown = path if len(path) <= 80 else path[:77] + "..."
    text = f"404 Not Found: {method} {shown} is not a form this gateway serves.\n\n{FORMS}"
    return "404 Not Found", [("Content-Type", "text/plain; charset=utf-8")], text.encode("utf-8")


def wants_rest_error(method: str, path: str, accept: str | None) -> bool:
    """Does the caller read REST errors: a REST call, or a GET that asks for JSON?"""
    if path.startswith(REST_PREFIX):
        return True
    return method != "POST" and bool(accept) and "json" in (accept or "").lower() and not wants_xml(accept)


def fault_reply(fault: XRoadFault, *, method: str, path: str, accept: str | None) -> Reply:
    """``fault`` in the caller's protocol (see the module's docstring)."""
    if wants_rest_error(method, path, accept):
        err = fault.to_rest(accept)
        reason = "Internal Server Error" if err.status == 500 else "Bad Request"
        return f"{err.status} {reason}", list(err.headers), err.body
    # SOAP 1.1 answers faults with 500; GET metaservices tell client errors (400) apart
    status = "500 Internal Server Error" if method == "POST" or fault.http_status == 500 else "400 Bad Request"
    return status, [("Content-Type", "text/xml; charset=utf-8")], fault.to_soap()
