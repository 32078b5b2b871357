"""``sild trust``: run a development/small-country CA with its OCSP responder and TSA.

The token PIN comes from the environment variable ``SILD_TOKEN_PIN``. Without it the
commands fall back to the development PIN ``sild-dev-pin`` and say so on stderr:
that PIN protects nothing and is for development and sandboxes only.
"""

from __future__ import annotations

import signal
import sys
import threading
from pathlib import Path
from types import FrameType

import click

from ._ca import CertificateAuthority, RevocationReason, RevokedKeyPolicy
from ._bundle import ocsp_responder, timestamp_authority
from trust.pki import cert_pem, fingerprint_hex, load_certificate_file, load_certificates, subject_summary
from trust.errors import TrustError
from trust.protocol import MemberId, SecurityServerId, parse_client
from trust.keys import KeyType, pin_from_environment, write_atomic
from ._http import TrustHttpApp, TrustServer
from trust.infra import utc_now
from trust.backup import backup_command, refuse_drill_copy, restore_command
from ._backup import TRUST_BACKUP

def _pin() -> str:
    return pin_from_environment(warn=lambda message: click.echo(f"sild: warning: {message}", err=True))


@click.group("trust")
def trust_group() -> None:
    """Certificate authority, OCSP responder and timestamping authority."""


trust_group.add_command(backup_command(TRUST_BACKUP))
trust_group.add_command(restore_command(TRUST_BACKUP))


@trust_group.command("init")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--instance", required=True, help="Instance code, e.g. EE.")
@click.option("--key-type", type=click.Choice([k.value for k in KeyType]), default="rsa2048", show_default=True)
@click.option("--intermediate", is_flag=True, help="Issue from an intermediate CA under the root.")
@click.option("--ocsp-url", default=None, help="OCSP URL written into issued certificates (AIA).")
@click.option("--tsa-url", default=None, help="TSA URL recorded in the CA configuration.")
@click.option("--revoked-key", type=click.Choice([p.value for p in RevokedKeyPolicy]), default="warn",
              show_default=True, help="A request for a key certified before in a revoked certificate: warn or refuse.")
def init_command(directory: Path, instance: str, key_type: str, intermediate: bool, ocsp_url: str | None,
                 tsa_url: str | None, revoked_key: str) -> None:
    """Create a CA in DIRECTORY: root, optional intermediate, OCSP and TSA certificates."""
    ca = CertificateAuthority.init(directory, instance=instance, pin=_pin(), now=utc_now(), key_type=KeyType(key_type),
                                   intermediate=intermediate, ocsp_url=ocsp_url, tsa_url=tsa_url,
                                   revoked_key=RevokedKeyPolicy(revoked_key))
    try:
        click.echo(f"CA for instance {instance} created in {directory}")
        click.echo(f"  root CA      {directory / 'certs' / 'root.pem'}  sha256={fingerprint_hex(ca.root_cert)}")
        if ca.intermediate_cert is not None:
            click.echo(f"  intermediate {directory / 'certs' / 'intermediate.pem'}")
        click.echo(f"  OCSP signer  {directory / 'certs' / 'ocsp.pem'}")
        click.echo(f"  TSA          {directory / 'certs' / 'tsa.pem'}")
    finally:
        ca.close()


@trust_group.command("issue")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--kind", type=click.Choice(["auth", "sign"]), required=True,
              help="auth: gateway TLS certificate; sign: member signing certificate.")
@click.option("--member", required=True, help="Member identifier INSTANCE/CLASS/CODE, e.g. EE/GOV/70000001.")
@click.option("--server", "server_code", default=None, help="Server code (required for --kind auth).")
@click.option("--csr", "csr_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Certificate request (PEM or DER); without it a key is generated.")
@click.option("--key-type", type=click.Choice([k.value for k in KeyType]), default=None,
              help="Type of a generated key (default: the CA's).")
@click.option("--days", type=click.IntRange(1, 3650), default=730, show_default=True)
@click.option("--out", "prefix", required=True, help="Writes PREFIX.pem (and PREFIX.key for a generated key).")
def issue_command(directory: Path, kind: str, member: str, server_code: str | None, csr_file: Path | None,
                  key_type: str | None, days: int, prefix: str) -> None:
    """Issue a gateway auth or member sign certificate."""
    member_id = parse_client(member)
    if not isinstance(member_id, MemberId):
        raise click.BadParameter("give a member (INSTANCE/CLASS/CODE), not a subsystem", param_hint="--member")
    if kind == "auth" and not server_code:
        raise click.BadParameter("an auth certificate needs --server", param_hint="--server")
    cert_path, key_path = Path(prefix + ".pem"), Path(prefix + ".key")
    for path in (cert_path, key_path):
        if path.exists():
            raise TrustError(f"{path} exists; refusing to overwrite it", code="trust.cli.exists")
    csr = csr_file.read_bytes() if csr_file is not None else None
    ca = CertificateAuthority.open(directory, pin=_pin())
    try:
        kt = KeyType(key_type) if key_type else None
        if kind == "auth":
            assert server_code is not None
            server = SecurityServerId(member_id.instance, member_id.member_class, member_id.member_code, server_code)
            issued = ca.issue_auth(server, now=utc_now(), csr=csr, key_type=kt, validity_days=days)
        else:
            issued = ca.issue_sign(member_id, now=utc_now(), csr=csr, key_type=kt, validity_days=days)
    finally:
        ca.close()
    for warning in issued.warnings:
        click.echo(f"sild: warning: {warning}", err=True)
    if issued.encrypted_key_pem is not None:
        write_atomic(key_path, issued.encrypted_key_pem, mode=0o600)
    write_atomic(cert_path, cert_pem(issued.cert))
    subject = ", ".join(f"{k}={v}" for k, v in subject_summary(issued.cert).items())
    click.echo(f"issued {kind} certificate serial {issued.cert.serial_number:x} for {subject}")
    click.echo(f"  certificate  {cert_path}")
    if issued.encrypted_key_pem is not None:
        click.echo(f"  private key  {key_path} (PKCS#8 PEM, encrypted with the token PIN)")


@trust_group.command("revoke")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--cert", "cert_file", type=click.Path(dir_okay=False, exists=True, path_type=Path), required=True)
@click.option("--reason", default="unspecified", show_default=True,
              help="RFC 5280 reason: " + ", ".join(r.value for r in RevocationReason))
def revoke_command(directory: Path, cert_file: Path, reason: str) -> None:
    """Revoke a certificate this CA issued; a running responder answers `revoked` at once.

    CERT may hold the leaf followed by its chain, as a gateway's ``certs/auth.pem`` does
    (leaf first, the order ``gateway import-cert`` takes): the first certificate is revoked.
    """
    why = RevocationReason.parse(reason)
    try:
        cert = load_certificates(cert_file.read_bytes())[0]
    except OSError as exc:
        raise TrustError(f"cannot read certificate file {cert_file}: {exc.strerror}") from exc
    ca = CertificateAuthority.open(directory, pin=_pin())
    try:
        record = ca.revoke(cert, at=utc_now(), reason=why)
    finally:
        ca.close()
    assert record.revoked_at is not None
    click.echo(f"revoked certificate serial {record.serial:x} at {record.revoked_at.isoformat()} ({why.value})")


@trust_group.command("revoked-key-policy")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.argument("policy", type=click.Choice([p.value for p in RevokedKeyPolicy]), required=False)
def revoked_key_policy_command(directory: Path, policy: str | None) -> None:
    """Show or set what issuing does for a key certified before in a revoked certificate."""
    ca = CertificateAuthority.open(directory, pin=_pin())
    try:
        if policy is not None:
            ca.set_revoked_key_policy(RevokedKeyPolicy(policy))
        click.echo(f"revoked-key policy: {ca.revoked_key_policy.value}")
    finally:
        ca.close()


@trust_group.command("list")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
def list_command(directory: Path) -> None:
    """List issued certificates and their status."""
    ca = CertificateAuthority.open(directory, pin=_pin())
    try:
        for rec in ca.issued():
            state = f"revoked {rec.revoked_at.isoformat()} {rec.revocation_reason}" if rec.revoked_at else "good"
            click.echo(f"{rec.serial:x} {rec.kind} {rec.member or ''} {rec.server_code or ''} {rec.subject} {state}")
    finally:
        ca.close()


@trust_group.command("serve")
@click.argument("directory", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=8899, show_default=True, help="0 picks a free port.")
def serve_command(directory: Path, host: str, port: int) -> None:
    """Serve the OCSP responder (/ocsp) and TSA (/tsa) until SIGTERM or SIGINT."""
    refuse_drill_copy(directory, TRUST_BACKUP)  # a drill's copy holds the live CA's keys and serials
    ca = CertificateAuthority.open(directory, pin=_pin())
    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    server = TrustServer(TrustHttpApp(ocsp_responder(ca), timestamp_authority(ca)), host, port)
    try:
        server.start()
        click.echo(f"serving OCSP at {server.url}/ocsp and TSA at {server.url}/tsa", color=False)
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
        click.echo("stopping")
    finally:
        server.stop()
        ca.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
