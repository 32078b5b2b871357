"""X-Road's SOAP test messages: what the message layer must do with each manifest case.

``soap/manifest.json`` (the project's copy, :data:`tests.support.conformance.SOAP_MANIFEST`) names, per file, the X-Road test that
used it and the outcome it asserts. :data:`SCENARIOS` maps every case, keyed by file and
X-Road case name (:func:`case_key`), to a scenario kind; ``tests/trust/protocol/test_soap_vectors.py``
runs each kind at message level and ``tests/gateway/proxy/test_client_vectors.py`` posts the
client-side ones to a running gateway. The table and its helpers live here so that neither
test module imports the other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tests.support.conformance import SOAP_MANIFEST

MANIFEST_PATH = SOAP_MANIFEST
J = "jetty771207119h3h10dty"
MTOM_REQ = f'multipart/related; type="application/xop+xml"; start-info="application/soap+xml"; boundary={J}'


@dataclass(frozen=True)
class S:
    kind: str
    request_type: str | None = None  # None: derived from the file
    answer_type: str | None = None
    note: str = ""


ENV = "environment"
SCENARIOS: dict[str, S] = {
    # -- never read by an X-Road test
    "allowedMethods.query|-": S("unused"),
    "listMethods.query|-": S("unused"),
    "attach-error-withsoap.query|-": S("unused"),
    "bigAttachment.query|-": S("unused"),
    "smallAttachment.query|-": S("unused"),
    "invalid-service-address.query|-": S("unused"),
    "signing-error-request.query|-": S("unused"),
    "signing-error-response.query|-": S("unused"),
    "simplesoap.xml|-": S("unused"),
    "soapfaulterror.query|-": S("unused"),
    "bigAttachment.answer|-": S("unused"),
    "smallAttachment.answer|-": S("unused"),
    "customfault.answer|-": S("unused"),
    "customsoapenv.answer|-": S("unused"),
    "xop.answer|-": S("unused"),
    # -- client proxy: IS input
    "attachm-error.query|AttachmentFaulty": S("client", f"multipart/related; boundary={J}"),
    "attachm-faulty-soap.query|AttachmentFaultySoap": S("client"),
    "attachm-no-soap.query|AttachmentNoSoap": S("client"),
    "empty.query|EmptyQuery": S("client", "text/xml; charset=UTF-8"),
    "empty.query|EmptyMultipartRequest": S("client", f"multipart/related; boundary={J}"),
    "faulty-header2.query|FaultyHeader": S("client"),
    "malformed-body1.query|MalformedBody1": S("client"),
    "malformed-body2.query|MalformedBody2": S("client"),
    "malformed-body3.query|MalformedBody3": S("client"),
    "malformed-protocolVersion.query|MalformedProtocolVersionHeader": S("client"),
    "missing-protocolVersion.query|MissingProtocolVersionHeader": S("client"),
    "wrong-protocolVersion.query|WrongProtocolVersionHeader": S("client"),
    "missing-body.query|MissingBody": S("client"),
    "missingobjecttype.query|MissingObjectTypeMessage": S("client"),
    "no-header.query|MissingHeader": S("client"),
    "getstate.query|FaultyRequestContentType": S("client", "blah"),
    "getstate.query|SoapActionMalformedHeader": S("soap_action", note="http://example.org/action"),
    "getstate.query|SoapActionEmptyHeader": S("soap_action", note=""),
    "getstate.query|SoapActionHeader": S("soap_action", note='""'),
    "getstate.query|WrongHttpMethod": S("http_method", note="client"),
    "getstate.query|WrongHttpMethodServerProxy": S("http_method", note="server.serverproxy"),
    "fault.query|SoapFaultToClientProxy": S("client_fault"),
    # -- parser-level unit tests (common-message SoapMessageTest)
    "faulty-header.query|SoapMessageTest.missingRequiredHeaderField": S("parse"),
    "faulty-header2.query|SoapMessageTest.duplicateHeaderField": S("parse"),
    "inconsistent-headers.query|SoapMessageTest.inconsistentHeaders": S("parse"),
    "malformed-body1.query|SoapMessageTest.malformedBody": S("parse"),
    "missing-body.query|SoapMessageTest.missingBody": S("parse"),
    "no-header.query|SoapMessageTest.missingHeader": S("parse"),
    "wrong-version.query|SoapMessageTest.wrongProtocolVersion": S("parse"),
    "missing-userId.query|SoapMessageTest.optionalUserIdField": S("parse"),
    "simple.query|SoapMessageTest.invalidContentType": S("parse", "text/html; charset=UTF-8"),
    "simple-rpc.query|SoapMessageTest.simpleRpcRequest": S("parse", note="rpc"),
    "simple-representedparty.query|SoapMessageTest.simpleRepresentedPartyAndIssueInHeaderRequest": S(
        "parse", note="represented"
    ),
    "simple.answer|SoapMessageTest.simpleResponse": S("parse", note="response"),
    "simple.query|SoapMessageTest.simpleRequest": S("parse", note="simple"),
    "request-suffix.query|SoapMessageTest.removeRequestSuffixFromResponse": S("parse", note="suffix"),
    "getstate.query|SoapMessageTest.consistentMessages": S("consistency"),
    "simple.query|SoapMessageTest.inconsistentMessages": S("consistency"),
    "response-with-requestId.answer|ManagementRequestSenderTest.getRequestIdFromManagementServiceResponse": S(
        "parse", note="requestId"
    ),
    # -- full exchanges that X-Road accepts
    "attachm-mtom.query|AttachmentMTOM": S("exchange", MTOM_REQ, note="mtom"),
    "attachm.query|Attachment": S("exchange", f"multipart/related; charset=UTF-8; boundary={J}", note="client-header"),
    "attachm2.query|Attachment2": S("exchange"),
    "attachm2-utf8bom-inside.query|Utf8BomAttachment2": S("exchange"),
    "attachments.query|SeveralAttachments": S("exchange"),
    "attachments.query|SeveralAttachmentsResponse": S("exchange"),
    "cdata.query|CDATAMessage": S("exchange", note="cdata"),
    "getstate-defaultnamespace.query|DefaultNamespaceMessage": S("exchange"),
    "getstate-subsystem.query|NormalSubsystem": S("exchange"),
    "getstate-subsystem.query|Utf8BomNormalSubsystem": S("exchange", note="bom"),
    "getstate.query|NormalMessage": S("exchange"),
    "getstate.query|AttachmentBig": S("exchange", note="big"),
    "getstate.query|NonUtf8ResponseContentType": S("exchange", answer_type="text/xml"),
    "getstate.query|ResponseWithRequestHash": S("exchange", note="override"),
    "mimesoap.query|MimeSoap": S("exchange"),
    "missing-userId.query|MissingUserIdHeader": S("exchange"),
    "nowhitespace.query|NoWhitespaceMessage": S("exchange", note="no-consistency"),
    "simple.query|CommentMessage": S("exchange", note="comment"),
    "simple.query|MessageBodyManipulatorTest.removingBody": S("exchange"),
    "split-header.query|SplitHeaderMessage": S("exchange", note="split"),
    "xmlencoded.query|XmlEncodedMessage": S("exchange", note="xmlencoded"),
    "soapfault-mtom.query|SoapFaultInMultipartResponse": S("exchange", MTOM_REQ, note="provider-fault"),
    "xml.query|ServerClientInconsistency": S("inconsistent"),
    # -- provider gateway reading the provider IS answer
    "getstate.query|AttachmentFaultySoapResponse": S("answer"),
    "getstate.query|AttachmentNoSoapResponse": S("answer"),
    "getstate.query|EmptyMultipartResponse": S("answer", answer_type=f"multipart/related; boundary={J}"),
    "getstate.query|EmptyResponse": S("answer", answer_type="text/xml; charset=UTF-8"),
    "getstate.query|FaultyHeaderResponse": S("answer"),
    "getstate.query|FaultyResponseContentType": S("answer", answer_type="blah"),
    "getstate.query|MalformedBodyResponse": S("answer"),
    "getstate.query|MissingBodyResponse": S("answer"),
    "getstate.query|MissingHeaderResponse": S("answer"),
    "getstate.query|ServerProxyAttachmentError": S("answer", answer_type=f"multipart/related; boundary={J}"),
    "getstate.query|ServiceFaultyFault": S("answer"),
    "getstate.query|ServiceFaultyMultipart": S("answer", answer_type=f"multipart/related; charset=utf-8; boundary={J}"),
    "getstate.query|ServiceReturnsFault": S("answer"),
    "proxyemulator.query|ServerProxyEmptyResponse": S("answer", answer_type="text/xml; charset=UTF-8"),
    "getstate.query|ServiceConnectionAborted": S("answer", answer_type=None, note="no-content-type"),
    # -- proxy messages sent straight to a server proxy
    "attachm.query|UnsignedMessageFromClientProxy": S("to_sp", f"multipart/mixed; boundary={J}"),
    "no-signature.query|NoSignatureToServerProxy": S(
        "to_sp", "multipart/mixed; boundary=jetty42534330h7vzfqv2; charset=ISO-8859-1"
    ),
    "no-soap.query|NoSoapToServerProxy": S("to_sp", f"multipart/mixed; boundary={J}"),
    "getstate.query|InvalidContentTypeFromClientProxy": S("to_sp", "text/xml; charset=UTF-8"),
    "getstate.query|ServerProxyProcessingError": S("to_sp", "multipart/mixed; boundary=foobar"),
    # -- replies of a (fake) server proxy read by the client proxy
    "proxyemulator.query|InvalidContentTypeFromServerProxy": S("from_sp", answer_type="oih"),
    "getstate.query|ServerProxyNoBoundary": S("from_sp", answer_type="multipart/mixed", note="empty"),
    "getstate.query|ServerProxyEmptyFault": S("from_sp", answer_type="text/xml; charset=UTF-8"),
    "getstate.query|ServerProxyFaultyAttachment": S("from_sp", answer_type="multipart/mixed; charset=UTF-8; boundary=" + J),
    "getstate.query|ServerProxyInvalidFault": S("from_sp", answer_type="text/xml; boundary=foo"),
    "getstate.query|ServerProxyMissingBody": S("from_sp", answer_type="text/xml; boundary=foo"),
    "getstate.query|UnsignedMessageFromServerProxy": S(
        "from_sp", answer_type="multipart/mixed; boundary=jetty42534330h7vzfqv2"
    ),
    # -- proxy message unit tests
    "attachm-error.query|ProxyMessageDecoderTest.invalidContentTypeInMultipart": S("decoder", "multipart/mixed"),
    "fault.query|ProxyMessageDecoderTest.parseFault": S("decoder", "text/xml"),
    "simple.query|ProxyMessageDecoderTest.notProxyMessage": S("decoder", "text/xml"),
    "fault.query|ProxyMessageEncoderTest.faultMessage": S("encoder", note="fault"),
    "getstate.query|ProxyMessageEncoderTest.normalMessage": S("encoder", note="normal"),
    # -- outcomes decided by configuration, TLS, access rights, network or signing
    **{
        key: S(ENV)
        for key in (
            "attachm.query|InvalidProviderAddress3",
            "attachm.query|InvalidServiceAddress2",
            "getstate.query|InvalidServiceAddress",
            "getstate.query|ServiceHttpError",
            "getstate.query|ServiceDisabled",
            "getstate.query|UnknownService",
            "getstate.query|SigningFailsInServerProxy",
            "getstate.query|SigningFailsInClientProxy",
            "getstate.query|ServerProxyMaintenanceMode",
            "getstate.query|ServerProxyConnectionAborted",
            "getstate.query|ProxyTests.serverProxyConnectionRefused",
            "getstate.query|ServerProxyConnectionAborted2",
            "getstate.query|ServerProxyConnectionAborted3",
            "getstate.query|ServerProxyHttpError",
            "getstate.query|SslNormalMessage",
            "getstate.query|SslClientAuth",
            "getstate.query|SslClientAuthExpiredISCert",
            "getstate.query|SslSelectFastestProxy",
            "getstate.query|SslToServiceAuth",
            "getstate.query|SslToServiceNoAuth",
            "getstate.query|SslAuthCertNotMatchesOrg",
            "getstate.query|SslAuthTrustManagerError",
            "getstate.query|SslClientCertVerificationError",
            "getstate.query|SslClientAuthNoISCert",
            "getstate.query|SslClientAuthWrongISCert",
            "getstate.query|SslSelectFastestProxyNoConnections",
            "getstate.query|SslToServiceNoISCerts",
            "getstate.query|SslToServiceWrongISCert",
            "getstate.query|SslClientCipherSuiteSetupError",
            "missing-org.query|MissingOrg",
            "notAllowed.query|NotAllowed",
        )
    },
}


def case_key(case: dict) -> str:
    used = case["used_by"]
    match = re.search(r"case (\w+)", used) or re.search(r"(\w+Tests?\.\w+)", used)
    return f"{case['file']}|{match.group(1) if match else '-'}"


_ID = re.compile(rb"<(xroad:)?id\s*/>|<(xroad:)?id(\s*)>[^<]*</(xroad:)?id\s*>")


def fresh_ids(data: bytes, query_id: str) -> bytes:
    """Replace every ``xroad:id`` value by ``query_id`` (README: fresh ids per run)."""

    def repl(match: re.Match[bytes]) -> bytes:
        prefix = match.group(1) or match.group(2) or b""
        return b"<" + prefix + b"id>" + query_id.encode() + b"</" + prefix + b"id>"

    return _ID.sub(repl, data)


def default_type(data: bytes) -> str:
    if data.startswith(b"--"):
        boundary = data.split(b"\n", 1)[0][2:].strip().decode()
        return f"multipart/related; boundary={boundary}"
    return "text/xml; charset=UTF-8"
