"""The load balancer in front of a gateway cluster: an HAProxy configuration sild writes.

X-Road puts an external TCP balancer in front of a security server cluster, and so
does sild, with HAProxy (a Debian package) in TCP mode:

* **TLS passes through.** The mutual-TLS port authenticates the peer gateway by its
  certificate, which only the node sees if the balancer does not terminate TLS; every
  node holds the same auth key (:mod:`gateway.provision._join`), so a peer sees one
  gateway whichever node answers. The IS port is forwarded the same way (HTTP or, on
  the IS TLS port, HTTPS with the node's internal certificate).
* **Health from the node.** ``option httpchk`` asks each node's health port
  (``check port``) ``GET /health`` every 2 s; two failures take a node out, two
  successes bring it back. A node answers 503 when it would refuse traffic or drains
  (:mod:`gateway.node._healthport`).
* **A dead node costs only what was in flight.** ``option redispatch`` with
  ``retries`` sends a connection that a dead node refuses to another node, so after a
  kill only the connections open on the dead node fail.
* ``balance leastconn``: exchanges last milliseconds to seconds (the provider's
  backend), so the node with fewer open connections is the less loaded one.
* Timeouts: connect 3 s (loopback or a LAN), client and server 120 s of silence (an
  exchange waits for a slow backend; the nodes' own idle deadlines close idle
  kept-alive connections first), check 3 s (a check stuck on a database fails).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from gateway.settings import NodeSettings, SetupError


@dataclass(frozen=True)
class ClusterNode:
    """One node as the balancer reaches it: a name, an address, its IS, mutual-TLS and health ports."""

    name: str
    host: str
    is_port: int
    peer_port: int
    health_port: int
    is_tls_port: int = 0


def node_from_directory(directory: Path, name: str, host: str | None = None) -> tuple[str, ClusterNode]:
    """The node serving ``directory`` (its server identifier, and the node): ``host`` where the balancer reaches it."""
    settings = NodeSettings.load(Path(directory))
    if not settings.health_port:
        raise SetupError(f"the node in {directory} has no health port for the balancer to ask: "
                         f".venv/bin/sild gateway set {directory} health_port=5588")
    if host is None:
        host = settings.peer_host if settings.peer_host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return settings.server, ClusterNode(name, host, settings.is_port, settings.peer_port, settings.health_port,
                                        settings.is_tls_port)


def _address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _backend(name: str, nodes: Sequence[ClusterNode], port_of: str) -> list[str]:
    lines = [f"backend {name}", "    balance leastconn", "    option httpchk",
             "    http-check send meth GET uri /health ver HTTP/1.1 hdr Host sild-health",
             "    http-check expect status 200",
             "    default-server inter 2s fall 2 rise 2"]
    for node in nodes:
        lines.append(f"    server {node.name} {_address(node.host, getattr(node, port_of))} "
                     f"check port {node.health_port}")
    return lines + [""]


def haproxy_config(nodes: Sequence[ClusterNode], *, is_listen: tuple[str, int], peer_listen: tuple[str, int],
                   is_tls_listen: tuple[str, int] | None = None, maxconn: int = 4096) -> str:
    """HAProxy's configuration for ``nodes`` (see the module docstring); ``*_listen`` are the balancer's addresses."""
    if not nodes:
        raise SetupError("a cluster has at least one node")
    names = [n.name for n in nodes]
    if len(set(names)) != len(names):
        raise SetupError(f"node names repeat: {', '.join(names)}")
    if is_tls_listen is not None and not all(n.is_tls_port for n in nodes):
        raise SetupError("an IS TLS frontend needs is_tls_port on every node")
    lines = ["# written by `sild gateway cluster haproxy-config` (gateway.node._haproxy, docs/scaling.md):",
             "# TCP mode, TLS passes through to the nodes, each node's health port decides its traffic",
             "global", f"    maxconn {maxconn}", "",
             "defaults", "    mode tcp", "    option redispatch", "    retries 3",
             "    timeout connect 3s", "    timeout client 120s", "    timeout server 120s", "    timeout check 3s", ""]
    fronts = [("sild_is", is_listen, "is_port"), ("sild_peer", peer_listen, "peer_port")]
    if is_tls_listen is not None:
        fronts.append(("sild_is_tls", is_tls_listen, "is_tls_port"))
    for name, (host, port), port_of in fronts:
        lines += [f"frontend {name}", f"    bind {_address(host, port)}", f"    default_backend {name}_nodes", ""]
        lines += _backend(f"{name}_nodes", nodes, port_of)
    return "\n".join(lines)


def cluster_config(directories: Sequence[tuple[Path, str | None]], *, is_listen: tuple[str, int],
                   peer_listen: tuple[str, int], is_tls_listen: tuple[str, int] | None = None) -> str:
    """The configuration for the nodes in ``directories`` (each with the host the balancer reaches it at).

    The nodes must be one gateway (one server identifier): a balancer in front of two
    gateways would hand a peer whichever certificate the chosen node has.
    """
    found = [node_from_directory(d, f"node{i}", host) for i, (d, host) in enumerate(directories, 1)]
    servers = {server for server, _node in found}
    if len(servers) > 1:
        raise SetupError(f"the nodes of a cluster are one gateway; these are {', '.join(sorted(servers))}")
    return haproxy_config([node for _server, node in found], is_listen=is_listen, peer_listen=peer_listen,
                          is_tls_listen=is_tls_listen)
