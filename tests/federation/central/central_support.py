"""Test support for the governing authority (no tests here): a real CA with OCSP, a
gateway owner's keys, and the running of ``sild central`` as subprocesses."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from federation.central import build_registration_request
from trust.pki import EJBCA_PROFILE
from trust.services import CertificateAuthority
from trust.services._bundle import ocsp_responder
from trust.protocol import ClientId, MemberId, SecurityServerId
from trust.keys import SoftToken
from trust.pki._ocsp import build_ocsp_request

if TYPE_CHECKING:
    from federation.central.registry import CentralDir
    from federation.model import SharedParameters

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PIN = "test-pin"


class GatewayPki:
    """The instance's CA (root + delegated OCSP) and certificates of gateway owners."""

    def __init__(self, directory: Path, instance: str, now: dt.datetime) -> None:
        self.now = now
        self.ca = CertificateAuthority.init(directory / "ca", instance=instance, pin=PIN, now=now,
                                            ocsp_url="http://127.0.0.1:9/ocsp")
        self.responder = ocsp_responder(self.ca)
        self.token = SoftToken(directory / "owner-token", PIN)

    def close(self) -> None:
        self.ca.close()

    def der(self, cert: x509.Certificate) -> bytes:
        return cert.public_bytes(serialization.Encoding.DER)

    def ca_fields(self) -> dict[str, object]:
        """Arguments of ``Registry.add_ca`` for this CA."""
        return {
            "name": f"{self.ca.instance} test CA",
            "cert": self.der(self.ca.root_cert),
            "ocsp": [("http://127.0.0.1:9/ocsp", self.der(self.ca.ocsp_cert))],
            "certificate_profile": EJBCA_PROFILE,
        }

    def _import(self, key_id: str, encrypted: bytes | None) -> None:
        assert encrypted is not None
        if not self.token.has_key(key_id):
            key = serialization.load_pem_private_key(encrypted, password=PIN.encode())
            self.token.import_key(key_id, key)  # type: ignore[arg-type]

    def sign_cert(self, member: MemberId) -> tuple[str, x509.Certificate]:
        issued = self.ca.issue_sign(member, now=self.now)
        key_id = f"sign-{member.member_class}-{member.member_code}-{issued.cert.serial_number % 10**8}"
        self._import(key_id, issued.encrypted_key_pem)
        return key_id, issued.cert

    def auth_cert(self, server: SecurityServerId) -> tuple[str, x509.Certificate]:
        issued = self.ca.issue_auth(server, now=self.now)
        key_id = f"auth-{server.server_code}-{issued.cert.serial_number % 10**8}"
        self._import(key_id, issued.encrypted_key_pem)
        return key_id, issued.cert

    def ocsp(self, cert: x509.Certificate, at: dt.datetime | None = None) -> bytes:
        return self.responder.respond(build_ocsp_request(cert, self.ca.issuing_cert), at or self.now)

    def request(
        self,
        server: SecurityServerId,
        *,
        clients: Sequence[ClientId] = (),
        signer_member: MemberId | None = None,
        created_at: dt.datetime | None = None,
        address: str = "gw.example",
    ) -> tuple[bytes, x509.Certificate]:
        """A signed registration request for ``server`` (signed by ``signer_member``'s key, default the owner)."""
        sign_id, sign = self.sign_cert(signer_member or server.owner)
        auth_id, auth = self.auth_cert(server)
        document = build_registration_request(
            server=server, address=address, auth_cert=auth, clients=clients,
            sign_cert=sign, sign_ocsp=self.ocsp(sign), auth_ocsp=self.ocsp(auth),
            owner_signer=self.token, sign_key_id=sign_id, auth_signer=self.token, auth_key_id=auth_id,
            created_at=created_at or self.now,
        )
        return document, auth


def free_port() -> int:
    """A loopback port reserved for this process: binding to port 0 and closing lets another
    process (a concurrent test, an outgoing connection) take the port before the server binds it."""
    from gateway.sandbox._ports import reserve_port

    return reserve_port()


def sild_env() -> dict[str, str]:
    env = dict(os.environ)
    env["SILD_TOKEN_PIN"] = PIN
    env["PYTHONPATH"] = str(PROJECT_ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def sild(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``sild ARGS`` as its own process (the console entry point)."""
    result = subprocess.run(
        [sys.executable, "-c", "from gateway.cli import main; main()", *args],
        cwd=PROJECT_ROOT, env=sild_env(), capture_output=True, text=True, timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"sild {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
    return result


class CentralProcess:
    """``sild central serve DIR`` as a subprocess; :meth:`stop` ends it (and only it)."""

    def __init__(self, directory: Path, port: int, *, check_interval: float = 0.5, api_port: int | None = None,
                 extra: Sequence[str] = ()) -> None:
        self.url = f"http://127.0.0.1:{port}"
        # the management API on a port of its own, over HTTPS (certificate in DIR/api-tls/)
        self.api_url = f"https://127.0.0.1:{api_port}" if api_port else None
        api = ["--api-port", str(api_port)] if api_port else []
        self.log = directory.parent / f"{directory.name}-serve.log"
        self._log_handle = open(self.log, "wb")  # noqa: SIM115 - closed in stop()
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from gateway.cli import main; main()", "central", "serve", str(directory),
             "--host", "127.0.0.1", "--port", str(port), "--check-interval", str(check_interval), *api, *extra],
            cwd=PROJECT_ROOT, env=sild_env(), stdout=self._log_handle, stderr=subprocess.STDOUT,
        )

    def wait_ready(self) -> "CentralProcess":
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"central serve exited: {self.log.read_text()}")
            try:
                if httpx.get(self.url + "/externalconf?version=6", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"central serve did not start: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log_handle.close()


def wait_for(predicate, timeout: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def published_shared(home: "CentralDir", now: dt.datetime) -> "SharedParameters":
    """Generate at ``now`` and read the shared parameters back from the published external directory."""
    from federation.anchor import parse_anchor
    from federation.central import generate
    from federation.central.registry import build_anchor
    from federation.directory import verify_directory

    generate(home, home.token(PIN), now=now)
    data = (home.public_dir / "V6" / "externalconf").read_bytes()
    verified = verify_directory(data, parse_anchor(build_anchor(home, internal=False, now=now)), at=now,
                                fetch_part=lambda loc: (home.public_dir / loc.lstrip("/")).read_bytes())
    assert verified.shared_parameters is not None
    return verified.shared_parameters
