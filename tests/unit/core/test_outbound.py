"""The outbound-address guard: internal addresses and unusual ports are refused unless the
operator allowed them; the caller gets the address to connect to."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import MAIL_PORTS, WEB_PORTS, outbound_address
from organisatrice.settings import get_settings

PUBLIC = "93.184.215.14"

pytestmark = pytest.mark.usefixtures("guard_as_shipped")


@pytest.fixture
def settings_from() -> Iterator[Any]:
    """Set outbound settings in the environment for one test; the usual ones after it."""
    with pytest.MonkeyPatch.context() as patch:

        def apply(**values: str) -> None:
            for name, value in values.items():
                patch.setenv(name, value)
            get_settings.cache_clear()

        yield apply
    get_settings.cache_clear()


@pytest.fixture
async def resolver(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names that resolve to the addresses the test gives, as DNS would answer them."""
    names: dict[str, list[str]] = {}
    loop = asyncio.get_running_loop()
    real = loop.getaddrinfo

    async def getaddrinfo(host: str, port: int, **kwargs: Any) -> list[Any]:
        if host not in names:
            return await real(host, port, **kwargs)
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port))
            for a in names[host]
        ]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    return names


async def test_a_public_address_on_a_usual_port_is_the_one_to_connect_to() -> None:
    address = await outbound_address(PUBLIC, 443, usual_ports=WEB_PORTS, field="url")
    assert address == ipaddress.ip_address(PUBLIC)


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "a loopback address"),
        ("::1", "a loopback address"),
        ("[::ffff:127.0.0.1]", "a loopback address"),
        ("10.1.2.3", "a private address"),
        ("192.168.1.20", "a private address"),
        ("172.16.0.1", "a private address"),
        ("fd12:3456::1", "a private address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("224.0.0.251", "a multicast address"),
        ("0.0.0.0", "an unspecified address"),  # noqa: S104 - to refuse, not to bind
        ("240.0.0.1", "a private address"),
        ("100.64.0.1", "not a public address"),
    ],
)
async def test_internal_addresses_are_refused_with_what_they_are(host: str, kind: str) -> None:
    with pytest.raises(Invalid) as refused:
        await outbound_address(host, 443, usual_ports=WEB_PORTS, field="url")
    assert kind in refused.value.detail
    assert "OUTBOUND_ALLOW_PRIVATE" in refused.value.detail
    assert refused.value.field == "url"


async def test_a_name_is_judged_by_every_address_it_resolves_to(
    resolver: dict[str, list[str]],
) -> None:
    resolver["hooks.partner.example"] = [PUBLIC, "10.0.0.5"]
    with pytest.raises(Invalid) as refused:
        await outbound_address("hooks.partner.example", 443, usual_ports=WEB_PORTS, field="url")
    assert "hooks.partner.example resolves to 10.0.0.5, which is a private address" in (
        refused.value.detail
    )
    resolver["erp.partner.example"] = [PUBLIC]
    address = await outbound_address("erp.partner.example", 443, usual_ports=WEB_PORTS, field="u")
    assert str(address) == PUBLIC


async def test_localhost_is_refused_by_what_it_resolves_to() -> None:
    with pytest.raises(Invalid) as refused:
        await outbound_address("localhost", 80, usual_ports=WEB_PORTS, field="url")
    assert "localhost resolves to" in refused.value.detail
    assert "loopback" in refused.value.detail


async def test_a_name_that_does_not_resolve_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        await outbound_address("no-such-host.invalid", 443, usual_ports=WEB_PORTS, field="url")
    assert "cannot be resolved" in refused.value.detail


async def test_unusual_ports_are_refused_unless_allowed(settings_from: Any) -> None:
    with pytest.raises(Invalid) as refused:
        await outbound_address(PUBLIC, 22, usual_ports=WEB_PORTS, field="url")
    assert "Port 22 is not a usual one (80, 443, 8080, 8443)" in refused.value.detail
    assert await outbound_address(PUBLIC, 587, usual_ports=MAIL_PORTS, field="host")
    settings_from(OUTBOUND_ALLOWED_PORTS="22, 9000")
    assert await outbound_address(PUBLIC, 22, usual_ports=WEB_PORTS, field="url")


async def test_the_operator_may_allow_internal_addresses(settings_from: Any) -> None:
    settings_from(OUTBOUND_ALLOW_PRIVATE="1")
    address = await outbound_address("10.1.2.3", 443, usual_ports=WEB_PORTS, field="url")
    assert str(address) == "10.1.2.3"
    # Internal addresses, but still only usual ports.
    with pytest.raises(Invalid):
        await outbound_address("127.0.0.1", 5000, usual_ports=WEB_PORTS, field="url")


async def test_allowed_hosts_and_networks_pass_with_any_port(
    settings_from: Any, resolver: dict[str, list[str]]
) -> None:
    settings_from(OUTBOUND_ALLOWED_HOSTS="127.0.0.1, 10.20.0.0/16, relay.intern.example.")
    assert str(await outbound_address("127.0.0.1", 5000, usual_ports=WEB_PORTS, field="u")) == (
        "127.0.0.1"
    )
    assert await outbound_address("10.20.3.4", 2526, usual_ports=MAIL_PORTS, field="host")
    resolver["relay.intern.example"] = ["192.168.7.7"]
    assert await outbound_address("Relay.Intern.Example", 25, usual_ports=MAIL_PORTS, field="h")
    # Other internal addresses stay refused.
    with pytest.raises(Invalid):
        await outbound_address("10.21.0.1", 443, usual_ports=WEB_PORTS, field="url")
