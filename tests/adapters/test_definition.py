"""Adapter definitions are checked completely at start-up; errors name file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters.definition import DefinitionError, load_definition
from adapters.definition import MappingError, apply_mapping
from adapters.definition._mapping import compile_xslt
from adapters.definition._load import Mapping

GOOD = """\
adapter:
  name: demo
  namespace: urn:demo
backends:
  legacy:
    kind: soap11
    url: http://127.0.0.1:9/legacy
operations:
  - name: getThing
    backend: legacy
    request:
      fields:
        - {name: code}
    response:
      fields:
        - {name: value}
"""


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "demo.yaml"
    path.write_text(text)
    return path


def test_good_definition_loads(tmp_path: Path) -> None:
    definition = load_definition(_write(tmp_path, GOOD))
    assert definition.name == "demo"
    op = definition.operation("getThing")
    assert op is not None and op.version == "v1" and op.idempotent


BAD = [
    ("unknown-backend", GOOD.replace("backend: legacy", "backend: popreg"), 10, "operations[0].backend",
     "unknown backend 'popreg'"),
    ("bad-kind", GOOD.replace("kind: soap11", "kind: corba"), 6, "backends.legacy.kind", "corba"),
    ("bad-url", GOOD.replace("url: http://127.0.0.1:9/legacy", "url: ftp://x"), 7, "backends.legacy.url",
     "not an http(s) URL"),
    ("unknown-field", GOOD.replace("    kind: soap11\n", "    kind: soap11\n    colour: red\n"), 7,
     "backends.legacy.colour", "unknown field"),
    ("missing-xslt", GOOD.replace("      fields:\n        - {name: code}\n",
                                  "      fields:\n        - {name: code}\n      xslt: nowhere.xsl\n"), 14,
     "operations[0].request.xslt", "does not exist"),
    ("bad-hook", GOOD.replace("      fields:\n        - {name: value}\n",
                              "      fields:\n        - {name: value}\n      hook: no.such.module:fn\n"), 17,
     "operations[0].response.hook", "cannot import"),
    ("bad-type", GOOD.replace("{name: value}", "{name: value, type: float128}"), 16,
     "operations[0].response.fields[0].type", "float128"),
    ("bad-retries", GOOD.replace("    kind: soap11\n", "    kind: soap11\n    retries: 50\n"), 7,
     "backends.legacy.retries", "0 to 5"),
    ("sign-unknown-element", GOOD + "    sign: {element: nothing}\n", 17, "operations[0].sign.element",
     "response field with sub-fields"),
    ("rest-param", GOOD + '    rest: {path: "/things/{id}"}\n', 17, "operations[0].rest.path", "'id'"),
    ("rest-xpath", GOOD + '    rest: {path: "/things/{code}", not_found_when: "tns:found = ="}\n', 17,
     "operations[0].rest.not_found_when", "invalid XPath"),
    ("sign-not-a-mapping", GOOD + "    sign: enveloped\n", 17, "operations[0].sign", "must be a mapping"),
    ("rest-unknown-field", GOOD + '    rest: {path: "/things", colour: red}\n', 17, "operations[0].rest.colour",
     "unknown field (allowed: method, not_found_when, path)"),
    ("consumer-user-id-not-a-mapping", GOOD + "consumers:\n  - name: c\n    gateway: {url: http://gw}\n"
     "    client: EE/GOV/1/a\n    service: EE/GOV/1/b/svc\n    user_id: fixed\n", 22, "consumers[0].user_id",
     "must be a mapping"),
    ("yaml-syntax", GOOD.replace("  name: demo", "  name: [demo"), 3, "not valid YAML", ""),
    ("consumer-service", GOOD + "consumers:\n  - name: c\n    gateway: {url: http://gw}\n    client: EE/GOV/1/a\n"
     "    service: EE/GOV\n", 21, "consumers[0].service", "parts"),
]


@pytest.mark.parametrize(("text", "line", "field", "message"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_invalid_definitions_name_line_and_field(tmp_path: Path, text: str, line: int, field: str, message: str) -> None:
    with pytest.raises(DefinitionError) as info:
        load_definition(_write(tmp_path, text))
    text_of_error = str(info.value)
    assert text_of_error.startswith(f"demo.yaml line {line}:"), text_of_error
    assert field in text_of_error and message in text_of_error
    assert info.value.code == "adapters.definition.invalid"


def test_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DefinitionError, match="cannot read adapter definition"):
        load_definition(tmp_path / "absent.yaml")


# -- XSLT sandbox --------------------------------------------------------------------------------

XSL_HEAD = '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform">'


def test_xslt_cannot_read_files_or_the_network(tmp_path: Path) -> None:
    secret = tmp_path / "secret.xml"
    secret.write_text("<secret>42</secret>")
    for target in (secret.as_uri(), "http://127.0.0.1:9/x.xml"):
        xsl = tmp_path / "steal.xsl"
        xsl.write_text(f'{XSL_HEAD}<xsl:template match="/"><out><xsl:copy-of select="document(\'{target}\')"/>'
                       "</out></xsl:template></xsl:stylesheet>")
        with pytest.raises(MappingError):
            result = apply_mapping(Mapping(xslt=xsl), etree.fromstring("<in/>"), {})
            assert "42" not in etree.tostring(result).decode()
            raise MappingError("document() returned nothing")  # libxslt may just yield an empty node-set


def test_xslt_imports_and_writes_are_refused(tmp_path: Path) -> None:
    xsl = tmp_path / "import.xsl"
    xsl.write_text(f'{XSL_HEAD}<xsl:import href="other.xsl"/></xsl:stylesheet>')
    with pytest.raises(MappingError, match="xsl:import"):
        compile_xslt(xsl)
    out = tmp_path / "written.xml"
    writer = tmp_path / "write.xsl"
    writer.write_text(
        '<xsl:stylesheet version="1.0" xmlns:xsl="http://www.w3.org/1999/XSL/Transform" '
        'xmlns:exsl="http://exslt.org/common" extension-element-prefixes="exsl">'
        f'<xsl:template match="/"><exsl:document href="{out}"><x/></exsl:document><done/></xsl:template>'
        "</xsl:stylesheet>"
    )
    with pytest.raises(MappingError):
        apply_mapping(Mapping(xslt=writer), etree.fromstring("<in/>"), {})
    assert not out.exists()


def test_xslt_with_a_doctype_is_refused(tmp_path: Path) -> None:
    xsl = tmp_path / "dtd.xsl"
    xsl.write_text(f'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>{XSL_HEAD}'
                   "</xsl:stylesheet>")
    with pytest.raises(MappingError):
        compile_xslt(xsl)


def test_environment_placeholders(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("http://127.0.0.1:9/legacy", "${LEGACY_URL}/legacy"))
    definition = load_definition(path, environ={"LEGACY_URL": "http://rr.internal:8080"})
    assert definition.backends["legacy"].url == "http://rr.internal:8080/legacy"
    with pytest.raises(DefinitionError, match="demo.yaml line 7: environment variable LEGACY_URL is not set"):
        load_definition(path, environ={})


# -- hooks ---------------------------------------------------------------------------------------


def test_hook_gets_the_xroad_context_after_the_stylesheet(tmp_path: Path) -> None:
    xsl = tmp_path / "wrap.xsl"
    xsl.write_text(f'{XSL_HEAD}<xsl:param name="userId"/><xsl:template match="/"><out user="{{$userId}}"/>'
                   "</xsl:template></xsl:stylesheet>")
    context = {"userId": "EE38001085718", "client": "FI/GOV/0245437-2/vero", "issue": "case-1", "id": "m-1",
               "service": "EE/GOV/70000002/population/getPerson", "serviceCode": "getPerson", "serviceVersion": "v1"}
    result = apply_mapping(Mapping(xslt=xsl, hook="tests.adapters.mapping_hooks:stamp_context"),
                           etree.fromstring("<in/>"), context)
    assert result.tag == "out" and result.get("user") == "EE38001085718"
    seen = result.find("seen")
    assert seen is not None and dict(seen.attrib) == context


@pytest.mark.parametrize("hook", ["broken", "not_an_element"])
def test_a_failing_hook_is_a_mapping_error(hook: str) -> None:
    with pytest.raises(MappingError):
        apply_mapping(Mapping(hook=f"tests.adapters.mapping_hooks:{hook}"), etree.fromstring("<in/>"), {})
