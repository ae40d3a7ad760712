"""Where a webhook may be sent: public addresses only, checked when registered and when delivered.

Why: a webhook URL is a request the platform makes on a merchant's behalf, from inside the
platform's network. Without a check it reaches the database, Redis, the cloud's metadata service
or any internal host, and the delivery record (status, retries on demand) turns that into a
probe of the private network (server-side request forgery; OWASP ASVS 5.2.6, 12.6.1).

The rules (:func:`address_refusal`): an address is refused when it is loopback, private (RFC 1918,
unique-local), shared (100.64/10), link-local (169.254/16, fe80::/10, where cloud metadata lives),
site-local, multicast, unspecified, reserved or otherwise not globally routable, in IPv4 and in
IPv6, including IPv6 forms that carry an IPv4 address (mapped ``::ffff:a.b.c.d``, compatible
``::a.b.c.d``, 6to4 ``2002::/16``, NAT64 ``64:ff9b::/96``, Teredo). Hosts are read the way a
resolver would: legacy IPv4 spellings (``2130706433``, ``0x7f.1``, ``0177.0.0.1``) are addresses,
and a trailing dot is dropped (``localhost.``). A name is resolved and every address it resolves to
must be allowed.

At delivery the dispatcher resolves the host once, checks the addresses, and connects to the
address it checked (:func:`pinned_request`): the URL is rewritten to the IP while ``Host`` and TLS
SNI (and certificate verification) keep the name, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot move the request. Redirects are never followed.

``allow_private`` (``MSC_WEBHOOK_ALLOW_PRIVATE_TARGETS``, refused in production) admits loopback
and private addresses for development and tests; link-local, multicast and unspecified addresses
stay refused even then.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from common.errors import ValidationError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""Resolves ``(host, port)`` to IP address strings (tests inject one; never real DNS in tests)."""

_NAT64 = (ipaddress.IPv6Network("64:ff9b::/96"), ipaddress.IPv6Network("64:ff9b:1::/48"))
_LEGACY_IPV4 = frozenset("0123456789abcdefABCDEFxX.")


class WebhookTargetRefusedError(ValidationError):
    """A webhook URL whose host is not a public address (or not https where that is required)."""

    code = "webhook_url_not_allowed"

    def __init__(self, url: str, problem: str) -> None:
        super().__init__(f"webhook URL {url} is not allowed: {problem}", url=url)


@dataclass(frozen=True)
class TargetPolicy:
    """What webhook targets are allowed.

    Attributes:
        allow_private: Admit loopback and private addresses (development only).
        require_https: Only ``https`` URLs (production).
    """

    allow_private: bool = False
    require_https: bool = False


@dataclass(frozen=True)
class Target:
    """A checked target: the URL as registered, its host name and the address to connect to."""

    url: str
    host: str
    address: str


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives for ``host`` (every family, TCP)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def literal_address(host: str) -> IPAddress | None:
    """``host`` as an IP address if it is one in any spelling a resolver accepts, else None."""
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare.split("%", 1)[0])  # an IPv6 zone id names no other host
    except ValueError:
        pass
    if bare and set(bare) <= _LEGACY_IPV4 and any(c.isdigit() for c in bare):
        try:  # inet_aton reads 2130706433, 0x7f.1, 0177.0.0.1 as C resolvers do
            return ipaddress.IPv4Address(socket.inet_aton(bare))
        except OSError:
            return None
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, compatible, 6to4, NAT64, Teredo), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    packed = int(address)
    if any(address in net for net in _NAT64) or (packed >> 32 == 0 and packed > 1):
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)  # NAT64, or IPv4-compatible ::a.b.c.d
    return None


def address_refusal(address: IPAddress, policy: TargetPolicy) -> str | None:
    """Why a webhook must not connect to ``address``, or None if it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            inner = address_refusal(embedded, policy)
            if inner is not None:
                return f"{address} carries the IPv4 address {embedded}, which {inner.split(' ', 1)[1]}"
        if address.is_site_local:
            return f"{address} is a site-local address"
    if address.is_unspecified:
        return f"{address} is the unspecified address"
    if address.is_multicast:
        return f"{address} is a multicast address"
    if address.is_link_local:
        return f"{address} is a link-local address"
    if address.is_loopback:
        return None if policy.allow_private else f"{address} is a loopback address"
    if address.is_private or not address.is_global or address.is_reserved:
        if policy.allow_private and address.is_private and not address.is_reserved:
            return None
        return f"{address} is not a public address"
    return None


def _host_and_port(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise WebhookTargetRefusedError(url, "only http and https URLs are allowed")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise WebhookTargetRefusedError(url, "the URL has no host")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:
        raise WebhookTargetRefusedError(url, "the port is not a number") from None
    return scheme, host, port


def resolve_target(url: str, policy: TargetPolicy, resolver: Resolver | None = None) -> Target:
    """Checks ``url`` and the addresses its host resolves to; the first address is the one to use.

    Raises:
        WebhookTargetRefusedError: not https where required, a local name, a refused address,
            or a name that does not resolve (or resolves to any refused address).
    """
    scheme, host, port = _host_and_port(url)
    if policy.require_https and scheme != "https":
        raise WebhookTargetRefusedError(url, "use https")
    literal = literal_address(host)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    else:
        if (host == "localhost" or host.endswith(".localhost")) and not policy.allow_private:
            raise WebhookTargetRefusedError(url, "the host is local")
        try:
            answers = (resolver or system_resolver)(host, port)
        except OSError:
            raise WebhookTargetRefusedError(url, f"the host {host} does not resolve") from None
        addresses = []
        for answer in answers:
            parsed = literal_address(answer)
            if parsed is None:
                raise WebhookTargetRefusedError(url, f"the host {host} resolves to no IP address")
            addresses.append(parsed)
        if not addresses:
            raise WebhookTargetRefusedError(url, f"the host {host} does not resolve")
    for address in addresses:
        problem = address_refusal(address, policy)
        if problem is not None:
            raise WebhookTargetRefusedError(
                url, problem if literal is not None else f"{host} resolves to {problem}"
            )
    return Target(url=url, host=host, address=str(addresses[0]))


def pinned_request(
    client: httpx.Client, target: Target, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    """POSTs to ``target.address`` (the address checked), with ``Host`` and TLS SNI naming the
    registered host so virtual hosting and certificate verification work; no redirects."""
    original = httpx.URL(target.url)
    pinned = original.copy_with(host=target.address)
    extensions = {"sni_hostname": target.host} if original.scheme == "https" else {}
    host_header = original.netloc.decode("ascii")
    return client.post(
        pinned,
        content=content,
        headers={**headers, "Host": host_header},
        extensions=extensions,
        follow_redirects=False,
    )
