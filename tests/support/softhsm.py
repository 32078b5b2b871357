"""A throw-away SoftHSM2 token for the PKCS#11 tests.

SoftHSM2 (Debian package ``softhsm2``, installed by ``make tools``) is a real PKCS#11
library: sild talks to it exactly as to a hardware module. Each test gets its own
token directory and configuration (``SOFTHSM2_CONF`` points at it), so tests never
see each other's keys. python-pkcs11 loads a library once per process, and SoftHSM2
reads its configuration and token list when initialised: after a new token is made,
the loaded library is re-initialised to see it.

Only the absence of python-pkcs11 skips (one reason, printed); a missing SoftHSM2 is
a failure, because CI installs it.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

LIBRARY_CANDIDATES = (
    Path("/usr/lib/softhsm/libsofthsm2.so"),
    Path("/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so"),
    Path("/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so"),
)
SKIP_REASON = "python-pkcs11 is not installed (pip install 'sild[hsm]')"


@dataclass(frozen=True)
class SoftHsm:
    library: Path
    label: str
    pin: str
    so_pin: str
    conf: Path


def library() -> Path:
    for candidate in LIBRARY_CANDIDATES:
        if candidate.is_file():
            return candidate
    pytest.fail("SoftHSM2 is not installed (Debian package softhsm2; `make tools` installs it)")


def make_token(directory: Path, monkeypatch: pytest.MonkeyPatch, *, label: str = "sild-test",
               pin: str = "4321", so_pin: str = "8765") -> SoftHsm:
    """Initialise a fresh token in ``directory`` and point this process (and its children) at it."""
    pkcs11 = pytest.importorskip("pkcs11", reason=SKIP_REASON)
    lib_path = library()
    util = shutil.which("softhsm2-util")
    if util is None:
        pytest.fail("softhsm2-util is not on PATH (Debian package softhsm2; `make tools` installs it)")
    tokens = directory / "tokens"
    tokens.mkdir(parents=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(conf))
    subprocess.run([util, "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
                   check=True, capture_output=True)
    lib = pkcs11.lib(str(lib_path))
    lib.reinitialize()  # read this test's configuration and token list
    return SoftHsm(lib_path, label, pin, so_pin, conf)
