"""Who the client is and whether it came over HTTPS, believing forwarded headers only from trusted proxies.

The login throttle counts failures per client address, so that address must be the peer of the TCP
connection, not whatever a client writes in `X-Forwarded-For`: anyone could send a fresh one with
every guess. Only when the peer is one of the reverse proxies named in HOSO_TRUSTED_PROXIES (exact
addresses or networks, e.g. `127.0.0.1,10.0.0.0/8`) is the header read, from its right end, skipping
the trusted hops. `hoso serve` turns uvicorn's own proxy-header rewriting off, so this is the one
place that decides.
"""

from __future__ import annotations

import functools
import ipaddress

from fastapi import Request

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@functools.cache
def _networks(setting: str) -> tuple[tuple[Network, ...], frozenset[str]]:
    """The setting parsed once: networks, and any names that are not addresses (e.g. a test client)."""
    networks: list[Network] = []
    names: set[str] = set()
    for entry in (e.strip() for e in setting.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry)
    return tuple(networks), frozenset(names)


def _trusted(host: str, setting: str) -> bool:
    networks, names = _networks(setting)
    if host in names:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in networks)


def _setting(request: Request) -> str:
    return str(request.app.state.hoso.settings.trusted_proxies or "")


def client_address(request: Request) -> str | None:
    """The client's address: the connection's peer, or the first untrusted hop a trusted proxy names."""
    peer = request.client.host if request.client else None
    setting = _setting(request)
    if peer is None or not setting or not _trusted(peer, setting):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, setting):
            return hop
    return hops[0] if hops else peer


def came_over_https(request: Request) -> bool:
    """HTTPS to us, or to a trusted proxy that says so in X-Forwarded-Proto."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else None
    setting = _setting(request)
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[-1].strip().lower()
    return bool(peer and setting and _trusted(peer, setting) and forwarded == "https")
