"""`sild trust`: init / issue / revoke / list through click, and `serve` as a real process checked by openssl."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization

from gateway.cli import _main as sild_cli
from trust.pki import load_certificate_file, subject_summary

PROJECT_ROOT = Path(__file__).resolve().parents[3]
PIN = "cli-test-pin"
ENV = {"SILD_TOKEN_PIN": PIN}


def _run(args: list[str], env: dict[str, str] | None = None) -> tuple[int, str]:
    sild_cli._register()
    result = CliRunner().invoke(sild_cli.cli, args, env=ENV if env is None else env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def ca_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("cli") / "ca"
    code, out = _run(["trust", "init", str(directory), "--instance", "EE", "--key-type", "ec-p256", "--intermediate"])
    assert code == 0, out
    assert "CA for instance EE created" in out
    return directory


def test_issue_auth_with_generated_key(ca_dir: Path, tmp_path: Path) -> None:
    prefix = tmp_path / "gw1"
    code, out = _run(["trust", "issue", str(ca_dir), "--kind", "auth", "--member", "EE/GOV/70000001",
                      "--server", "gw1", "--out", str(prefix)])
    assert code == 0, out
    assert "PKCS#8 PEM, encrypted with the token PIN" in out
    cert = load_certificate_file(prefix.with_suffix(".pem"))
    assert subject_summary(cert) == {"C": "EE", "O": "GOV", "CN": "70000001", "serialNumber": "EE/gw1/GOV"}
    key_pem = prefix.with_suffix(".key").read_bytes()
    assert b"BEGIN ENCRYPTED PRIVATE KEY" in key_pem
    assert prefix.with_suffix(".key").stat().st_mode & 0o077 == 0
    key = serialization.load_pem_private_key(key_pem, password=PIN.encode())
    assert key.public_key() == cert.public_key()
    # openssl opens it with the PIN too
    opened = subprocess.run(["openssl", "pkey", "-in", str(prefix.with_suffix(".key")), "-passin", f"pass:{PIN}",
                             "-noout"], capture_output=True, text=True)
    assert opened.returncode == 0, opened.stderr
    # refuses to overwrite
    code, out = _run(["trust", "issue", str(ca_dir), "--kind", "auth", "--member", "EE/GOV/70000001",
                      "--server", "gw1", "--out", str(prefix)])
    assert code == 1 and "sild: error:" in out and "refusing to overwrite" in out


@pytest.mark.conformance(area="certificates", peer="openssl",
                         expected="a sign certificate issued from an openssl CSR, for that key")
def test_issue_sign_from_openssl_csr(ca_dir: Path, tmp_path: Path) -> None:
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "r.csr"), "-subj", "/CN=anything"],
                   check=True, capture_output=True)
    code, out = _run(["trust", "issue", str(ca_dir), "--kind", "sign", "--member", "EE/GOV/70000001",
                      "--csr", str(tmp_path / "r.csr"), "--out", str(tmp_path / "sign")])
    assert code == 0, out
    assert not (tmp_path / "sign.key").exists() and "private key" not in out
    text = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "sign.pem"), "-noout", "-text"],
                          check=True, capture_output=True, text=True).stdout
    assert "Subject: C = EE, O = GOV, CN = 70000001" in text and "Non Repudiation" in text
    match = subprocess.run(["openssl", "x509", "-in", str(tmp_path / "sign.pem"), "-noout", "-pubkey"],
                           check=True, capture_output=True, text=True).stdout
    key_pub = subprocess.run(["openssl", "pkey", "-in", str(tmp_path / "k.pem"), "-pubout"],
                             check=True, capture_output=True, text=True).stdout
    assert match == key_pub


@pytest.mark.parametrize(
    ("args", "env", "code", "message"),
    [
        (["--kind", "auth", "--member", "EE/GOV/70000001"], None, 2, "needs --server"),
        (["--kind", "sign", "--member", "EE/GOV/70000001/sub"], None, 2, "not a subsystem"),
        (["--kind", "sign", "--member", "FI/GOV/1"], None, 1, "instance"),
        (["--kind", "sign", "--member", "EE/GOV/70000001"], {"SILD_TOKEN_PIN": "wrong"}, 1, "wrong PIN"),
        (["--kind", "bogus", "--member", "EE/GOV/70000001"], None, 2, "bogus"),
    ],
    ids=["auth-without-server", "subsystem", "other-instance", "wrong-pin", "bad-kind"],
)
def test_issue_errors(ca_dir: Path, tmp_path: Path, args: list[str], env: dict[str, str] | None, code: int,
                      message: str) -> None:
    got, out = _run(["trust", "issue", str(ca_dir), *args, "--out", str(tmp_path / "x")], env=env)
    assert got == code and message in out, out
    assert not (tmp_path / "x.pem").exists()


def test_revoke_and_list(ca_dir: Path, tmp_path: Path) -> None:
    _run(["trust", "issue", str(ca_dir), "--kind", "sign", "--member", "EE/GOV/70000002", "--out",
          str(tmp_path / "s")])
    code, out = _run(["trust", "revoke", str(ca_dir), "--cert", str(tmp_path / "s.pem"), "--reason",
                      "keyCompromise"])
    assert code == 0 and "keyCompromise" in out, out
    code, out = _run(["trust", "revoke", str(ca_dir), "--cert", str(tmp_path / "s.pem")])
    assert code == 1 and "already revoked" in out
    code, out = _run(["trust", "revoke", str(ca_dir), "--cert", str(tmp_path / "s.pem"), "--reason", "bored"])
    assert code == 1 and "unknown revocation reason" in out
    code, out = _run(["trust", "list", str(ca_dir)])
    serial = f"{load_certificate_file(tmp_path / 's.pem').serial_number:x}"
    line = next(line for line in out.splitlines() if line.startswith(serial))
    assert "EE/GOV/70000002" in line and "revoked" in line and "keyCompromise" in line


def test_revoke_takes_the_leaf_of_a_file_with_its_chain(ca_dir: Path, tmp_path: Path) -> None:
    """A gateway's certs/auth.pem holds the leaf then the chain; revoking it revokes the leaf."""
    _run(["trust", "issue", str(ca_dir), "--kind", "sign", "--member", "EE/GOV/70000003", "--out",
          str(tmp_path / "s")])
    chain = sorted(ca_dir.rglob("*.pem"))
    assert chain, "the CA directory holds its certificates as PEM"
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes((tmp_path / "s.pem").read_bytes() + b"".join(p.read_bytes() for p in chain))
    code, out = _run(["trust", "revoke", str(ca_dir), "--cert", str(bundle)])
    serial = f"{load_certificate_file(tmp_path / 's.pem').serial_number:x}"
    assert code == 0 and f"revoked certificate serial {serial} " in out, out


def test_default_pin_is_announced(tmp_path: Path) -> None:
    code, out = _run(["trust", "init", str(tmp_path / "dev"), "--instance", "DEV", "--key-type", "ec-p256"], env={})
    assert code == 0
    assert "development PIN" in out


# -- serve as a real process ---------------------------------------------------


@pytest.fixture(scope="module")
def served(ca_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = {**os.environ, **ENV, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "trust", "serve", str(ca_dir),
         "--host", "127.0.0.1", "--port", "0"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "serving OCSP at" in line, line + (proc.stderr.read() if proc.poll() is not None else "")
        base = line.split("serving OCSP at ")[1].split("/ocsp")[0]
        yield proc, base
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)


def _openssl_ocsp(ca_dir: Path, cert: Path, base: str) -> str:
    result = subprocess.run(
        ["openssl", "ocsp", "-issuer", str(ca_dir / "certs" / "intermediate.pem"), "-cert", str(cert),
         "-url", base + "/ocsp", "-CAfile", str(ca_dir / "certs" / "root.pem")],
        capture_output=True, text=True, timeout=30)
    return result.stdout + result.stderr


@pytest.mark.conformance(area="ocsp", peer="openssl")
def test_serve_ocsp_good_then_revoked_by_cli(served: tuple[subprocess.Popen[str], str], ca_dir: Path,
                                             tmp_path: Path) -> None:
    _, base = served
    cert = tmp_path / "gw.pem"
    code, out = _run(["trust", "issue", str(ca_dir), "--kind", "auth", "--member", "EE/GOV/70000001",
                      "--server", "gw7", "--out", str(tmp_path / "gw")])
    assert code == 0, out
    out = _openssl_ocsp(ca_dir, cert, base)
    assert "Response verify OK" in out and f"{cert}: good" in out, out
    code, out = _run(["trust", "revoke", str(ca_dir), "--cert", str(cert), "--reason", "keyCompromise"])
    assert code == 0, out
    out = _openssl_ocsp(ca_dir, cert, base)  # answered at once by the running process
    assert "Response verify OK" in out and f"{cert}: revoked" in out and "Reason: keyCompromise" in out, out


@pytest.mark.conformance(area="timestamps", peer="openssl")
def test_serve_tsa_with_openssl(served: tuple[subprocess.Popen[str], str], ca_dir: Path, tmp_path: Path) -> None:
    _, base = served
    (tmp_path / "f").write_bytes(os.urandom(4096))
    (tmp_path / "chain.pem").write_bytes((ca_dir / "certs" / "intermediate.pem").read_bytes()
                                         + (ca_dir / "certs" / "root.pem").read_bytes())
    subprocess.run(["openssl", "ts", "-query", "-data", "f", "-sha512", "-cert", "-out", "q.tsq"], cwd=tmp_path,
                   check=True, capture_output=True)
    reply = httpx.post(base + "/tsa", content=(tmp_path / "q.tsq").read_bytes(),
                       headers={"Content-Type": "application/timestamp-query"})
    assert reply.status_code == 200
    (tmp_path / "r.tsr").write_bytes(reply.content)
    ok = subprocess.run(["openssl", "ts", "-verify", "-data", "f", "-in", "r.tsr", "-CAfile", "chain.pem"],
                        cwd=tmp_path, capture_output=True, text=True)
    assert ok.returncode == 0 and "Verification: OK" in ok.stdout, ok.stderr
    (tmp_path / "f").write_bytes(b"tampered" + (tmp_path / "f").read_bytes())
    bad = subprocess.run(["openssl", "ts", "-verify", "-data", "f", "-in", "r.tsr", "-CAfile", "chain.pem"],
                         cwd=tmp_path, capture_output=True, text=True)
    assert bad.returncode != 0


def test_serve_survives_bad_input(served: tuple[subprocess.Popen[str], str]) -> None:
    proc, base = served
    cases = [
        ("POST", "/ocsp", "application/ocsp-request", b"\x00garbage", 400),
        ("POST", "/ocsp", "application/json", b"{}", 415),
        ("GET", "/ocsp/%%%", None, None, 400),
        ("POST", "/tsa", "application/timestamp-query", b"\x30\x80", 400),
        ("POST", "/tsa", "application/timestamp-query", b"x" * 100_000, 413),
        ("GET", "/tsa", None, None, 405),
        ("GET", "/../../etc/passwd", None, None, 404),
    ]
    for method, path, content_type, body, status in cases:
        headers = {"Content-Type": content_type} if content_type else {}
        response = httpx.request(method, base + path, content=body, headers=headers)
        assert response.status_code == status, (path, response.status_code, response.text)
        assert response.text.strip()
    assert proc.poll() is None
    assert httpx.get(base + "/").text.startswith("sild trust services: ocsp, tsa")


def test_serve_stops_on_sigterm(ca_dir: Path) -> None:
    env = {**os.environ, **ENV, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from gateway.cli import main; main()", "trust", "serve", str(ca_dir), "--port", "0"],
        cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and "serving" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
