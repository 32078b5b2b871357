"""The governing authority's directory (``sild central init DIR``) and what lives in it.

Layout::

    DIR/central.json   instance, public URL, database URL, token directory if shared (no secrets)
    DIR/registry.db    the registry (SQLite, WAL) unless central.json names a database URL
    DIR/token/         SoftToken with the internal and external configuration signing keys
                       (or the ``tokenDir`` that central.json names: a directory the nodes of
                       one authority share, see ``sild central node-init``; or none, when
                       central.json names a PKCS#11 token: ``pkcs11`` library and label)
    DIR/public/        the published configuration (see federation.central._publisher)
    DIR/.generate.lock serialises generators of several processes on this directory

The token PIN comes from the environment variable ``SILD_TOKEN_PIN``; when it is not
set the development PIN ``sild-dev-pin`` is used and a warning says so. A production
authority sets the variable (e.g. from a systemd credential) and keeps backups of
``token/`` separate from the PIN.
"""

from __future__ import annotations

import datetime as dt
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from trust.infra import utc_now
from trust.keys import SoftToken, pin_from_environment, write_atomic

if TYPE_CHECKING:
    from trust.keys import Pkcs11Token

from federation.errors import FederationError
from ._registry import Registry

CONFIG_FILE = "central.json"


class CentralDirError(FederationError):
    code = "federation.central.directory"


def token_pin(environ: Mapping[str, str] | None = None) -> str:
    return pin_from_environment(environ, warn=lambda message: warnings.warn(message, stacklevel=3))


@dataclass(frozen=True)
class CentralConfig:
    """The frozen contents of ``central.json``."""

    instance: str
    url: str  # public base URL of this authority, e.g. https://cs.example.ee
    database_url: str | None = None
    token_dir: str | None = None  # a token directory shared by the authority's nodes (absolute path)
    pkcs11: tuple[str, str] | None = None  # (library, token label): the signing keys in a PKCS#11 token

    def __post_init__(self) -> None:
        if self.token_dir is not None and not Path(self.token_dir).is_absolute():
            raise CentralDirError(f"tokenDir must be an absolute path, not {self.token_dir!r}")
        if self.pkcs11 is not None and (self.token_dir is not None or not all(self.pkcs11)):
            raise CentralDirError("a PKCS#11 token needs its library and its label, and no tokenDir beside it")
        if not self.instance or "/" in self.instance:
            raise CentralDirError(f"invalid instance identifier {self.instance!r}")
        if not self.url.startswith(("http://", "https://")):
            raise CentralDirError(f"the authority URL must be http(s)://host[:port], not {self.url!r}")
        rest = self.url.split("://", 1)[1].rstrip("/")
        if not rest or "/" in rest:
            raise CentralDirError(f"the authority URL must be http(s)://host[:port] without a path, not {self.url!r}")

    @property
    def base_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def address(self) -> str:
        """Host[:port], the ``source/address`` of shared parameters."""
        return self.base_url.split("://", 1)[1]


class CentralDir:
    """Paths and handles of one authority directory."""

    def __init__(self, path: Path | str, *, clock: Callable[[], dt.datetime] = utc_now) -> None:
        self.path = Path(path)
        self._clock = clock
        cfg_path = self.path / CONFIG_FILE
        try:
            raw = json.loads(cfg_path.read_bytes())
        except FileNotFoundError:
            raise CentralDirError(f"{self.path} is not an authority directory (no {CONFIG_FILE}; run `sild central init`)") from None
        except (OSError, ValueError) as exc:
            raise CentralDirError(f"cannot read {cfg_path}: {exc}") from exc
        try:
            hsm = raw.get("pkcs11")
            self.config = CentralConfig(raw["instance"], raw["url"], raw.get("databaseUrl"), raw.get("tokenDir"),
                                        (str(hsm["library"]), str(hsm["label"])) if hsm is not None else None)
        except (KeyError, TypeError) as exc:
            raise CentralDirError(f"{cfg_path} lacks {exc}") from exc
        self._registry: Registry | None = None

    @staticmethod
    def create(path: Path | str, config: CentralConfig) -> None:
        target = Path(path)
        if (target / CONFIG_FILE).exists():
            raise CentralDirError(f"{target} is already an authority directory")
        target.mkdir(parents=True, exist_ok=True)
        data: dict[str, object] = {"instance": config.instance, "url": config.base_url}
        if config.database_url:
            data["databaseUrl"] = config.database_url
        if config.token_dir:
            data["tokenDir"] = config.token_dir
        if config.pkcs11:
            data["pkcs11"] = {"library": config.pkcs11[0], "label": config.pkcs11[1]}
        write_atomic(target / CONFIG_FILE, json.dumps(data, indent=2).encode("utf-8"))

    @property
    def database(self) -> str:
        return self.config.database_url or str(self.path / "registry.db")

    @property
    def token_dir(self) -> Path:
        return Path(self.config.token_dir) if self.config.token_dir else self.path / "token"

    @property
    def public_dir(self) -> Path:
        return self.path / "public"

    @property
    def lock_file(self) -> Path:
        return self.path / ".generate.lock"

    def registry(self) -> Registry:
        if self._registry is None:
            self._registry = Registry.open(self.database, clock=self._clock)
        return self._registry

    def token(self, pin: str | None = None) -> SoftToken | Pkcs11Token:
        """The token that holds the configuration signing keys: the soft token, or the PKCS#11 token named."""
        if self.config.pkcs11 is not None:
            from trust.keys import Pkcs11Token

            return Pkcs11Token(self.config.pkcs11[0], self.config.pkcs11[1], pin or token_pin())
        return SoftToken(self.token_dir, pin or token_pin())

    def now(self) -> dt.datetime:
        return self._clock()

    def close(self) -> None:
        if self._registry is not None:
            self._registry.close()
            self._registry = None
