"""The one guard for every connection the app opens to an address someone typed in (a webhook
endpoint, a company's relay): it resolves the name and refuses addresses inside the operator's
own network and unusual ports, unless the operator allowed them in the settings.

Without it, whoever may enter such an address could make the server reach what only the server
reaches: its loopback services, the private network, the cloud's metadata address
(169.254.169.254). The caller connects to the address this guard answers, not to the name
again, so a name that resolves to a public address for the check and to a private one for the
connection (DNS rebinding) gains nothing.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from functools import cache

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.settings import get_settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# The ports each kind of connection usually goes to; others need OUTBOUND_ALLOWED_PORTS.
WEB_PORTS = frozenset({80, 443, 8080, 8443})
MAIL_PORTS = frozenset({25, 465, 587, 2525})

_ALLOW_HINT = (
    "Outbound connections go to public addresses on usual ports; the operator may allow others "
    "(OUTBOUND_ALLOW_PRIVATE, OUTBOUND_ALLOWED_HOSTS, OUTBOUND_ALLOWED_PORTS)."
)


def _kind_of(address: IPAddress) -> str | None:
    """What makes an address internal, or None for a public one."""
    if address.is_unspecified:
        return "an unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private:
        return "a private address"
    if address.is_reserved:
        return "a reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def _unmapped(address: IPAddress) -> IPAddress:
    """::ffff:127.0.0.1 is 127.0.0.1: judged as the IPv4 address it carries."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _normal_name(host: str) -> str:
    return host.strip().strip("[]").rstrip(".").lower()


@cache
def _allowed(entries: tuple[str, ...]) -> tuple[frozenset[str], tuple[IPNetwork, ...]]:
    """OUTBOUND_ALLOWED_HOSTS as names and networks (an address is a network of one)."""
    names: set[str] = set()
    networks: list[IPNetwork] = []
    for entry in entries:
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(_normal_name(entry))
    return frozenset(names), tuple(networks)


async def outbound_address(
    host: str, port: int, *, usual_ports: frozenset[int], field: str
) -> IPAddress:
    """The address to connect to for `host`:`port`, or `Invalid` (naming `field`) when the
    name does not resolve, or resolves to an address the operator did not allow, or the port is
    not usual. Every address the name has is judged: one internal address is enough to refuse.
    Hosts and networks in OUTBOUND_ALLOWED_HOSTS pass with any address and any port."""
    settings = get_settings()
    name = _normal_name(host)
    if not name:
        raise Invalid("The address names no host.", code=Code.HOST_MISSING, field=field)
    try:
        found = await asyncio.get_running_loop().getaddrinfo(
            name, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
        )
    except (OSError, UnicodeError) as failed:
        raise Invalid(
            f"The name {host} cannot be resolved ({failed}).",
            code=Code.HOST_UNRESOLVED,
            params={"host": host},
            field=field,
        ) from None
    addresses = list(dict.fromkeys(_unmapped(ipaddress.ip_address(info[4][0])) for info in found))
    if not addresses:
        raise Invalid(
            f"The name {host} has no address.",
            code=Code.HOST_UNRESOLVED,
            params={"host": host},
            field=field,
        )
    names, networks = _allowed(settings.outbound_allowed_hosts)
    for address in addresses:
        if name in names or any(address in network for network in networks):
            continue
        kind = _kind_of(address)
        if kind is not None and not settings.outbound_allow_private:
            shown = host if str(address) == name else f"{host} resolves to {address}, which"
            raise Invalid(
                f"{shown} is {kind}. {_ALLOW_HINT}",
                code=Code.HOST_NOT_ALLOWED,
                params={"host": host, "address": str(address)},
                field=field,
            )
        if port not in usual_ports and port not in settings.outbound_allowed_ports:
            usual = ", ".join(str(p) for p in sorted(usual_ports))
            raise Invalid(
                f"Port {port} is not a usual one ({usual}). {_ALLOW_HINT}",
                code=Code.PORT_NOT_ALLOWED,
                params={"port": port, "usual": usual},
                field=field,
            )
    return addresses[0]
