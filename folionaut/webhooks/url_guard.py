"""Where webhooks may send: public http(s) addresses only (an SSRF guard).

A webhook URL is chosen by whoever holds a write credential, and the service
then makes requests to it from inside its own network. Without a guard that is
a way to reach what only the server can reach: a cloud metadata endpoint
(169.254.169.254), an admin port on loopback, a database on the private
network. So a URL is refused when its host is, or resolves to, any address
that is not public: loopback, private (RFC 1918, unique-local IPv6), link-local
(where the metadata endpoints live), carrier-grade NAT, multicast, reserved or
unspecified; IPv4 written inside IPv6 (``::ffff:127.0.0.1``, NAT64) is judged
by the IPv4 address. If any address a name resolves to is refused, the name is.

The check runs when a webhook is created or changed (a 400 naming the address)
and again on every delivery, because DNS can change after the check: the
sender resolves through ``resolve`` and connects only to the addresses it
vetted (``folionaut/webhooks/sender.py``), so a name cannot pass the check with
one address and be connected to at another. ``WEBHOOK_ALLOW_PRIVATE=true``
turns the address check off (a receiver on the same machine or network) except
for the cloud metadata addresses, which no receiver ever lives at; the scheme
is always http or https.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

__all__ = ["RESOLVE_TIMEOUT_SECONDS", "ResolvedAddress", "UrlGuard", "UrlRefused", "check_url_shape"]

#: How long creating a webhook waits for DNS.
RESOLVE_TIMEOUT_SECONDS = 5.0
_IP = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200"))
_METADATA_KIND = "a cloud metadata address"
_PRIVATE_HINT = "webhooks reach public addresses only (WEBHOOK_ALLOW_PRIVATE=true allows others)"


class UrlRefused(OSError):
    """The URL may not be used: its message says why and is safe to show (no path or query)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True, slots=True)
class ResolvedAddress:
    family: int
    host: str  # the IP address to connect to (with %scope for a scoped IPv6 address)


def check_url_shape(url: str) -> SplitResult:
    """The parts of an http(s) URL with a host; ValueError with a message a person can act on."""
    if any(character.isspace() or ord(character) < 32 or ord(character) == 127 for character in url):
        raise ValueError("Must not contain spaces or control characters")
    try:
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a non-numeric or out-of-range port
    except ValueError:
        raise ValueError("Is not a valid URL (check the host and port)") from None
    if parts.scheme not in ("http", "https"):
        raise ValueError("Must be an http:// or https:// URL")
    if not parts.hostname:
        raise ValueError("Must name a host")
    return parts


def _embedded_ipv4(ip: _IP) -> _IP:
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return ip.ipv4_mapped
        if ip in _NAT64:
            return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip


def refusal(ip: _IP) -> str | None:
    """What kind of non-public address ``ip`` is ("a loopback address"), or None for a public one."""
    ip = _embedded_ipv4(ip)
    if ip in _METADATA:
        return _METADATA_KIND
    if ip.is_loopback:
        return "a loopback address"
    if ip.is_link_local:
        return "a link-local address"
    if ip.is_private:
        return "a private address"
    if not ip.is_global or ip.is_multicast:
        return "not a public address"
    return None


class UrlGuard:
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def vet(self, host: str, ip: _IP) -> None:
        """Raise ``UrlRefused`` unless ``ip`` (``host`` resolved to it) may be connected to."""
        kind = refusal(ip)
        if kind is None or (self.allow_private and kind != _METADATA_KIND):
            return
        named = f"{host} is" if _ip_literal(host) == ip else f"{host} resolves to"
        hint = "never a webhook receiver" if kind == _METADATA_KIND else _PRIVATE_HINT
        raise UrlRefused(f"{named} {kind} ({ip}): {hint}")

    def vet_literal(self, host: str) -> None:
        """Vet a host written as an IP address (clients connect to those without resolving)."""
        literal = _ip_literal(host)
        if literal is not None:
            self.vet(host, literal)

    async def resolve(self, host: str, port: int, family: int = socket.AF_UNSPEC) -> list[ResolvedAddress]:
        """Every address of ``host``, each vetted; raises ``UrlRefused`` (refused or unresolvable)."""
        literal = _ip_literal(host)
        if literal is not None:
            self.vet(host, literal)
            return [ResolvedAddress(socket.AF_INET6 if literal.version == 6 else socket.AF_INET, str(literal))]
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, port, family=family, type=socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise UrlRefused(f"{host} does not resolve ({exc.strerror or 'no address'})") from None
        addresses: list[ResolvedAddress] = []
        for found_family, _, _, _, sockaddr in infos:
            address = str(sockaddr[0])
            ip = ipaddress.ip_address(address.partition("%")[0])
            self.vet(host, ip)
            if found_family == socket.AF_INET6 and len(sockaddr) > 3 and sockaddr[3]:
                address = f"{address.partition('%')[0]}%{sockaddr[3]}"
            resolved = ResolvedAddress(found_family, address)
            if resolved not in addresses:
                addresses.append(resolved)
        if not addresses:
            raise UrlRefused(f"{host} does not resolve (no address)")
        return addresses

    async def check(self, url: str) -> None:
        """The creation-time check: shape, then every address. ValueError (shape) or UrlRefused."""
        parts = check_url_shape(url)
        host = parts.hostname or ""
        port = parts.port or (443 if parts.scheme == "https" else 80)
        try:
            async with asyncio.timeout(RESOLVE_TIMEOUT_SECONDS):
                await self.resolve(host, port)
        except TimeoutError:
            raise UrlRefused(f"{host} did not resolve within {RESOLVE_TIMEOUT_SECONDS:g} s") from None


def _ip_literal(host: str) -> _IP | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
