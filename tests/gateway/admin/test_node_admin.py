"""A running gateway node's admin port: HTTPS with the node's own certificate, and what it reports."""

from __future__ import annotations

import httpx

from gateway.admin import admin_client_context, admin_url
from gateway.serverconf import create_api_key

from tests.gateway._world import World

GW1 = "EE/GOV/70000001/gw1"


def _call(world: World, method: str, path: str, role: str = "viewer") -> httpx.Response:
    node = world.gateways[GW1]
    _kid, secret = create_api_key(node.serverconf, [role], f"node admin test {role}")
    return httpx.request(method, admin_url(node.directory) + path, headers={"Authorization": f"Bearer {secret}"},
                         verify=admin_client_context(node.directory), trust_env=False, timeout=30)


def test_the_node_serves_its_admin_api_over_https(world: World) -> None:
    url = admin_url(world.gateways[GW1].directory)
    assert url.startswith("https://127.0.0.1:")
    status = _call(world, "GET", "/api/v1/status")
    assert status.status_code == 200 and status.json()["security_server"] == GW1
