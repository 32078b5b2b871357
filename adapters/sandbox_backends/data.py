"""The fixed records of the sandbox registers (fictitious people, stable across runs).

Matti Meikäläinen lives in Finland and also has an Estonian personal code; Mari
Maasikas is known only to the Estonian population register. Anyone else is unknown
to every register, which each backend answers cleanly in its own way.
"""

from __future__ import annotations

from typing import Any

EE_PERSONS: dict[str, dict[str, Any]] = {
    "39001011237": {
        "isikukood": "39001011237",
        "eesnimi": "Matti",
        "perenimi": "Meikäläinen",
        "synniaeg": "1990-01-01",
        "sugu": "M",
        "kodakondsus": "FIN",
        "elukoht": {"maakond": "Harju maakond", "asula": "Tallinn", "aadress": "Narva mnt 5-12"},
    },
    "49001011238": {
        "isikukood": "49001011238",
        "eesnimi": "Mari",
        "perenimi": "Maasikas",
        "synniaeg": "1990-01-01",
        "sugu": "N",
        "kodakondsus": "EST",
        "elukoht": {"maakond": "Tartu maakond", "asula": "Tartu", "aadress": "Rüütli 1-3"},
    },
}

FI_TAX_RECORDS: dict[str, dict[str, Any]] = {
    "010190-123M": {
        "name": "Meikäläinen Matti",
        "municipality": "Helsinki",
        "years": {
            2024: {"earned": "52300.00", "capital": "1250.40", "rate": "27.5", "paid": "14720.15"},
            2025: {"earned": "54800.00", "capital": "980.10", "rate": "28.0", "paid": "15613.65"},
        },
    }
}

FI_RESIDENTS: dict[str, dict[str, Any]] = {
    "010190-123M": {
        "personCode": "010190-123M",
        "firstName": "Matti",
        "lastName": "Meikäläinen",
        "dateOfBirth": "1990-01-01",
        "municipality": "Helsinki",
        "municipalityCode": "091",
        "address": "Mannerheimintie 1 A 2, 00100 Helsinki",
        "movedIn": "2015-08-01",
        "nationality": "FIN",
    }
}
