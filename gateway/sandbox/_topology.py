"""The sandbox's fixed topology: who is who, which services, which rights."""

from __future__ import annotations

from trust.protocol import ClientId, parse_client

INSTANCES = ("EE", "FI")

TAX = parse_client("EE/GOV/70000001/tax")
POPULATION = parse_client("EE/GOV/70000002/population")
BANK = parse_client("EE/COM/10000003/bank")
VERO = parse_client("FI/GOV/0245437-2/vero")
DVV = parse_client("FI/GOV/0242431-1/dvv")

MEMBER_NAMES = {
    "EE/GOV/70000001": "Maksu- ja Tolliamet",
    "EE/GOV/70000002": "Rahvastikuregister",
    "EE/COM/10000003": "Sandbox Pank AS",
    "FI/GOV/0245437-2": "Verohallinto",
    "FI/GOV/0242431-1": "Digi- ja vaestotietovirasto",
}
SUBSYSTEM_NAMES = {
    "tax": "Tax administration", "population": "Population register", "bank": "Customer checks",
    "vero": "Tax records", "dvv": "Residents register",
}

# gateway -> subsystems it serves (the gateway's owner is the first client's member)
GATEWAYS = {
    "EE/GOV/70000001/gw1": (TAX,),
    "EE/GOV/70000002/gw1": (POPULATION, BANK),
    "FI/GOV/0245437-2/gw1": (VERO,),
    "FI/GOV/0242431-1/gw1": (DVV,),
}

# (provider, service code, version, kind, backend key, path under the backend)
SERVICES = (
    (POPULATION, "getPerson", "v1", "WSDL", "population", "/soap"),
    (POPULATION, "persons", None, "REST", "population", "/rest/persons"),
    (VERO, "getTaxRecord", "v1", "WSDL", "vero", "/soap"),
    (VERO, "income", None, "REST", "vero", "/rest/income"),
    (DVV, "residents", None, "REST", "dvv", "/residents"),
)

# (client, provider, service code)
RIGHTS = (
    (TAX, VERO, "getTaxRecord"), (TAX, VERO, "income"), (TAX, DVV, "residents"),
    (VERO, POPULATION, "getPerson"), (VERO, POPULATION, "persons"),
    (BANK, POPULATION, "getPerson"), (BANK, POPULATION, "persons"),
)

# (provider, service code, source, expression, XPath namespaces): where the data tracker of the
# provider's gateway finds the data subject of a request (issue 20; docs/tracker.md)
TRACKED: tuple[tuple[ClientId, str, str, str, dict[str, str]], ...] = (
    (VERO, "getTaxRecord", "xpath", "vero:getTaxRecord/vero:personCode", {"vero": "http://vero.sandbox.sild.eu/producer"}),
    (VERO, "income", "path", "/{personCode}", {}),
)
