"""What a backup of a trust-services directory is: the CA's description for ``trust.backup``.

The engine backs up the whole CA directory (:mod:`._ca` draws it: ``ca.json``, the
soft token with the root, issuing, OCSP and TSA keys, ``certs/``, ``issued/``, the
``ca.db`` register of issued and revoked certificates as one consistent snapshot, and
``tsa-serial``, the boot counter that keeps timestamp serial numbers unique). The
CA adds its identity, the instance of ``ca.json``, so that a restore refuses another
instance's CA unless forced. ``sild trust serve`` takes its port as an option, so a
running CA is found by its process (``trust.infra.servers_inside``).
"""

from __future__ import annotations

import json
from pathlib import Path

from trust.backup import NodeKind

from ._ca_types import CaError


def _identity(directory: Path) -> str:
    try:
        return str(json.loads((Path(directory) / "ca.json").read_text("utf-8"))["instance"])
    except FileNotFoundError:
        raise CaError(f"{directory} is not a CA directory (run `sild trust init`)") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CaError(f"cannot read {Path(directory) / 'ca.json'}: {exc}") from exc


TRUST_BACKUP = NodeKind(role="trust", identity=_identity, noun="trust services")
