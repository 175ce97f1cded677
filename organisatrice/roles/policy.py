"""The rule book: who may do what. The one place that answers; the guard and the UI both ask it.

Pure functions over an `Actor` (who is signed in) and, for order-bound rules, the facts of the
order. Each answer carries a reason a person can read.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    COORDINATOR = "coordinator"
    TECHNICIAN = "technician"
    BACKOFFICE = "backoffice"


class Permission(StrEnum):
    """What an endpoint needs. Every route names one in `opt={"needs": ...}`."""

    PUBLIC = "public"
    SIGNED_IN = "signed_in"
    VIEW_ORDERS = "view_orders"
    ADD_ORDER_FILES = "add_order_files"
    VIEW_CLIENTS = "view_clients"


class Actor(msgspec.Struct, frozen=True, kw_only=True):
    """The signed-in employee as the rules see them."""

    employee_id: int
    company_id: int
    company_name: str
    first_name: str
    last_name: str
    email: str
    locale: str
    time_zone: str
    roles: frozenset[Role]
    may_email: bool
    company_email_enabled: bool


class Decision(msgspec.Struct, frozen=True):
    allowed: bool
    reason: str = ""


ALLOWED = Decision(True)

# Permissions every signed-in employee holds; technicians' order scope is narrowed separately.
_EVERYONE = frozenset(
    {
        Permission.SIGNED_IN,
        Permission.VIEW_ORDERS,
        Permission.ADD_ORDER_FILES,
        Permission.VIEW_CLIENTS,
    }
)


def decide(actor: Actor, needs: Permission) -> Decision:
    """May `actor` use an endpoint that needs `needs`?"""
    if needs is Permission.PUBLIC or needs in _EVERYONE:
        return ALLOWED
    return Decision(False, f"You do not have the permission '{needs.value}'.")


def sees_all_orders(actor: Actor) -> bool:
    """Dispatchers, coordinators and back-office see every order of their company; others
    (technicians) only those they are responsible for or worked on."""
    return bool(actor.roles & {Role.DISPATCHER, Role.COORDINATOR, Role.BACKOFFICE})
