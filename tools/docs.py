"""The tables of docs/ that are generated from the code, so that they cannot drift from it.

Each generated table sits in a Markdown page between two marker lines::

    <!-- generated: NAME (python -m tools.docs) -->
    ...
    <!-- end generated: NAME -->

and is rewritten by ``python -m tools.docs`` (``make docs``); ``--check`` only reports
the pages that differ, and ``tests/tools/test_docs.py`` fails while one does. Tables:

* ``gateway-settings`` (docs/configuration.md): every field of
  :class:`gateway.settings.NodeSettings`, its default and its documentation (the
  ``doc`` metadata beside the field);
* ``fault-codes`` (docs/integrator-guide.md) and ``fault-codes-full`` (docs/protocols.md):
  every X-Road fault code a gateway sends. The codes are read from the code itself: each
  leaf constant of ``trust.protocol`` and each literal code that sild's packages use
  (:func:`sent_leaves`), with the sild errors that map to them (``ERROR_FAULTS``, named
  by the class the error tree of ``trust/errors.py`` draws). What a code means to a
  caller is :data:`MEANINGS`; a code without a meaning fails the test, so a new code
  reaches the docs with its first use;
* ``conformance-summary`` (docs/conformance.md): per protocol area, the conformance checks
  (the tests marked ``@pytest.mark.conformance``), the X-Road vectors they read and the
  independent peers they use (:mod:`tools.conformance`).
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import sys
from pathlib import Path
from typing import Callable

PROJECT_ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("trust", "federation", "adapters", "gateway")
MARK = re.compile(r"(<!-- generated: (?P<name>[\w-]+) \(python -m tools\.docs\) -->\n)(?P<body>.*?)"
                  r"(<!-- end generated: (?P=name) -->)", re.S)

CLIENT, OWN, PROVIDER, SIGNER = "client", "server.clientproxy", "server.serverproxy", "signer"
MEANINGS: dict[str, tuple[tuple[str, ...], str]] = {
    # leaf: (the origins a gateway sends it under, what it means to the caller)
    "access_denied": ((PROVIDER,), "the provider has not granted your client this service"),
    "cannot_create_signature": ((SIGNER,), "the gateway could not sign the message"),
    "cert_validation": ((OWN, PROVIDER), "a certificate in the exchange is not trusted, revoked, or its OCSP "
                        "status is missing or stale"),
    "duplicate_header_field": ((CLIENT,), "a SOAP header field is repeated"),
    "global_conf_outdated": ((OWN, PROVIDER), "the gateway's global configuration expired; it refuses all traffic"),
    "inconsistent_headers": ((CLIENT,), "the SOAP body element does not start with the `service` header's "
                             "service code"),
    "inconsistent_response": ((OWN,), "the answer's header does not match your request"),
    "incorrect_certificate": ((OWN, PROVIDER), "the message was signed with a certificate that is not the "
                              "signing member's, or not a signing certificate"),
    "internal_error": ((OWN, PROVIDER), "an unexpected failure; the message names only the correlation id "
                       "under which the gateway logged the details"),
    "invalid_body": ((CLIENT,), "the SOAP body must hold exactly one element"),
    "invalid_client_identifier": ((CLIENT,), "the client identifier is malformed"),
    "invalid_content_type": ((CLIENT, OWN, PROVIDER), "wrong or missing `Content-Type` (of your request, or, "
                             "under `service_failed`, of an answer)"),
    "invalid_http_method": ((CLIENT,), "wrong HTTP method for this address"),
    "invalid_message": ((CLIENT, OWN, PROVIDER), "a message (or, between gateways, a proxy message) that "
                        "cannot be read"),
    "invalid_protocol_version": ((CLIENT,), "`protocolVersion` is not exactly `4.0`"),
    "invalid_request": ((CLIENT, PROVIDER), "a malformed request or parameter (metaservices, unknown instance); a "
                        "REST path with `.`/`..` segments, encoded dots, slashes, backslashes, percent signs or "
                        "NUL, or without its subsystem; an `id`, `userId` or `issue` over 255 characters (the "
                        "provider's gateway checks the path and header fields again)"),
    "invalid_security_server": ((CLIENT, PROVIDER), "the `securityServer` header is malformed or names "
                                "another gateway"),
    "invalid_service_identifier": ((CLIENT,), "the service identifier is malformed"),
    "invalid_signature_value": ((OWN, PROVIDER), "the message's signature does not verify"),
    "invalid_soap": ((CLIENT,), "the message is not a SOAP 1.1 envelope"),
    "invalid_soap_action": ((CLIENT,), "a `SOAPAction` that is not allowed"),
    "invalid_xml": ((CLIENT,), "the message is not well-formed XML"),
    "key_not_found": ((SIGNER,), "the gateway holds no signing key of your member"),
    "maintenance_mode": ((OWN,), "every gateway of the provider is in maintenance"),
    "malformed_signature": ((OWN, PROVIDER), "the message's signature cannot be read"),
    "missing_body": ((CLIENT,), "the SOAP message has no body"),
    "missing_header": ((CLIENT,), "a required header is missing (SOAP `Header`, REST `X-Road-Client`)"),
    "missing_header_field": ((CLIENT,), "a required SOAP header field is missing"),
    "missing_rest": ((OWN, PROVIDER), "a proxy message between gateways without its REST part"),
    "missing_signature": ((OWN, PROVIDER), "a proxy message between gateways without its signature"),
    "missing_soap": ((OWN, PROVIDER), "a proxy message between gateways without its SOAP part"),
    "mlog_timestamper_failed": ((OWN, PROVIDER), "the gateway's message log could not be timestamped for too "
                                "long; it refuses messages"),
    "network_error": ((OWN, PROVIDER), "no gateway of the provider could be reached (under "
                      "`service_failed`: the provider's backend did not answer)"),
    "out_of_memory": ((OWN, PROVIDER), "the gateway already holds as many large messages (over 1 MiB) in memory "
                      "as its budget allows and none gave theirs back within 15 s; nothing was done with yours: "
                      "retry it (a sild code; X-Road caches large messages on disk instead)"),
    "service_disabled": ((PROVIDER,), "the provider disabled the service (the message says why)"),
    "service_type": ((PROVIDER,), "the service exists but is of the other type: a SOAP call to a REST "
                     "service or the reverse (the message says which); `getOpenAPI` of a service without an "
                     "OpenAPI description, `getWsdl` of a REST service"),
    "ssl_authentication_failed": ((CLIENT, OWN, PROVIDER), "a TLS peer is not allowed: you connected in a way "
                                  "your client's settings forbid, or a gateway's certificate is not registered "
                                  "or not valid"),
    "unknown_member": ((OWN, PROVIDER), "your client is not registered at your gateway, or no gateway serves "
                       "the provider"),
    "unknown_service": ((PROVIDER,), "the provider has no such service"),
}


# -- the fault codes ----------------------------------------------------------------------


def sent_leaves() -> dict[str, list[str]]:
    """``{leaf: [files that use it]}``: every fault leaf the code of sild's packages sends.

    A leaf is used where a constant of ``trust.protocol._faults`` is read (``faults.MISSING_BODY``,
    ``INVALID_REQUEST``) or where a literal code is given to ``XRoadFault(...)`` or as the
    ``default=`` of ``fault_for``. Constants only defined (codes sild reads from older peers
    but never sends) are not sent.
    """
    from trust.protocol import _faults

    constants = {name: value for name, value in vars(_faults).items()
                 if name.isupper() and isinstance(value, str) and value in _faults.KNOWN_LEAVES}
    used: dict[str, set[str]] = {}
    for package in PACKAGES:
        for path in sorted((PROJECT_ROOT / package).rglob("*.py")):
            where = path.relative_to(PROJECT_ROOT).as_posix()
            for leaf in _leaves_in(ast.parse(path.read_text("utf-8")), constants):
                used.setdefault(leaf, set()).add(where)
    for leaf in _faults.ERROR_FAULTS.values():
        used.setdefault(leaf, set()).add("trust/protocol/_faults.py")
    return {leaf: sorted(files) for leaf, files in sorted(used.items())}


def _leaves_in(tree: ast.AST, constants: dict[str, str]) -> set[str]:
    from trust.protocol import _faults

    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in constants:
            found.add(constants[node.id])
        elif isinstance(node, ast.Attribute) and node.attr in constants:
            found.add(constants[node.attr])
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            literals = [node.args[0]] if name == "XRoadFault" and node.args else []
            literals += [k.value for k in node.keywords if name == "fault_for" and k.arg == "default"]
            for literal in literals:
                if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
                    found.add(_faults.split_code(literal.value)[2])
    return found


def error_classes() -> dict[str, str]:
    """``{sild error code: class name}`` as the error tree in ``trust/errors.py`` draws it."""
    import trust.errors

    return {code: name for name, code in re.findall(r"(\w+) \[([\w.]+)\] \(", trust.errors.__doc__ or "")}


def _from_errors() -> dict[str, list[str]]:
    from trust.protocol import _faults

    classes = error_classes()
    mapped: dict[str, list[str]] = {}
    for code, leaf in _faults.ERROR_FAULTS.items():
        mapped.setdefault(leaf, []).append(f"`{classes.get(code, '?')}` ({code})")
    return mapped


def _camel(leaf: str) -> str:
    return "".join(part.capitalize() for part in leaf.split("_"))


def fault_table() -> str:
    """The integrator guide's table: each code a gateway sends, as sent, and what to do."""
    rows = ["| code | cause |", "|---|---|"]
    for leaf in sent_leaves():
        origins, meaning = MEANINGS[leaf]
        codes = ", ".join(f"`{origin}.{leaf}`" for origin in origins)
        rows.append(f"| {codes} | {meaning} |")
    return "\n".join(rows) + "\n"


def fault_table_full() -> str:
    """protocols.md's table: each code, its 7.7 spelling, the sild errors behind it, where it is raised."""
    from_errors = _from_errors()
    rows = ["| leaf | 7.7 spelling | sent under | meaning | from sild errors | raised in |", "|---|---|---|---|---|---|"]
    for leaf, files in sent_leaves().items():
        origins, meaning = MEANINGS[leaf]
        rows.append(f"| `{leaf}` | `{_camel(leaf)}` | {', '.join(f'`{o}.`' for o in origins)} | {meaning} | "
                    f"{'; '.join(from_errors.get(leaf, [])) or '-'} | "
                    f"{', '.join(f'`{f}`' for f in files)} |")
    return "\n".join(rows) + "\n"


# -- gateway.json ---------------------------------------------------------------------------


def settings_table() -> str:
    """docs/configuration.md's table of ``gateway.json``: every field of ``NodeSettings``."""
    from gateway.settings import NodeSettings, federations_text

    rows = ["| key | default | meaning |", "|---|---|---|"]
    for item in dataclasses.fields(NodeSettings):
        if item.default is not dataclasses.MISSING:
            default = item.default
            text = federations_text(default) if item.name == "allowed_federations" else default
            shown = "`" + json.dumps(text) + "`"
        elif item.default_factory is not dataclasses.MISSING:
            shown = "`" + json.dumps(item.default_factory()) + "`"
        else:
            shown = "(required)"
        rows.append(f"| `{item.name}` | {shown} | {item.metadata['doc']} |")
    return "\n".join(rows) + "\n"


# -- conformance ----------------------------------------------------------------------------


def conformance_table() -> str:
    """docs/conformance.md's summary: per protocol area, the checks the conformance report runs.

    Read from the tests marked ``@pytest.mark.conformance`` (collected, not run: see
    :mod:`tools.conformance`), so a check added, moved or removed changes the page.
    """
    from tools.conformance.render import docs_table
    from tools.conformance.run import catalogue

    return docs_table(catalogue())


# -- the pages ------------------------------------------------------------------------------

TABLES: dict[str, tuple[str, Callable[[], str]]] = {
    "gateway-settings": ("docs/configuration.md", settings_table),
    "fault-codes": ("docs/integrator-guide.md", fault_table),
    "fault-codes-full": ("docs/protocols.md", fault_table_full),
    "conformance-summary": ("docs/conformance.md", conformance_table),
}


def render(page: str, text: str) -> str:
    """``text`` of ``page`` with each of its generated tables rewritten."""
    def fill(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in TABLES or TABLES[name][0] != page:
            raise SystemExit(f"{page}: unknown generated table {name!r}")
        return match.group(1) + TABLES[name][1]() + match.group(4)

    return MARK.sub(fill, text)


def drifted() -> list[str]:
    """Pages whose generated tables differ from the code (or whose markers are missing)."""
    out = []
    for name, (page, _) in TABLES.items():
        text = (PROJECT_ROOT / page).read_text("utf-8")
        if f"<!-- generated: {name} " not in text or render(page, text) != text:
            out.append(f"{page} ({name})")
    return out


def main(argv: list[str]) -> int:
    if argv[:1] == ["--check"]:
        stale = drifted()
        for page in stale:
            print(f"docs: {page} differs from the code; run python -m tools.docs", file=sys.stderr)
        return 1 if stale else 0
    for page in sorted({page for page, _ in TABLES.values()}):
        path = PROJECT_ROOT / page
        text = path.read_text("utf-8")
        new = render(page, text)
        if new != text:
            path.write_text(new, "utf-8")
            print(f"docs: rewrote the generated tables of {page}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
