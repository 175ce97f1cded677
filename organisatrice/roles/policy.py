"""The rule book: who may do what. The one place that answers; the guard and the UI both ask it.

Pure functions over an `Actor` (who is signed in) and, for order-bound rules, the facts of the
order. Each answer carries a reason a person can read.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec

from organisatrice.core.codes import Code
from organisatrice.core.errors import Forbidden


class Role(StrEnum):
    DISPATCHER = "dispatcher"
    COORDINATOR = "coordinator"
    TECHNICIAN = "technician"
    BACKOFFICE = "backoffice"


class Permission(StrEnum):
    """What an endpoint needs. Every route names one in `opt={"needs": ...}`."""

    PUBLIC = "public"
    # What operators watch (metrics): this machine itself or the metrics token, never a person.
    OPERATOR = "operator"
    SIGNED_IN = "signed_in"
    VIEW_ORDERS = "view_orders"
    ADD_ORDER_FILES = "add_order_files"
    VIEW_CLIENTS = "view_clients"
    MANAGE_EMPLOYEES = "manage_employees"
    MANAGE_COMPANY = "manage_company"
    ASSIGN_RESPONSIBLE = "assign_responsible"
    VIEW_PERMISSION_CHANGES = "view_permission_changes"
    VIEW_TEMPLATES = "view_templates"
    MANAGE_TEMPLATES = "manage_templates"
    # Compose and send in an order's context; the order-bound part is may_email_on_order.
    COMPOSE_EMAIL = "compose_email"
    ANNOTATE_ARCHIVE = "annotate_archive"
    MANAGE_ARCHIVE = "manage_archive"
    # The spreadsheet of the work reports sent in a period, for invoicing.
    EXPORT_BILLING = "export_billing"
    VIEW_ARCHIVE = "view_archive"
    # Create and change clients, buildings and contacts; orders with their work.
    WRITE_CLIENTS = "write_clients"
    WRITE_ORDERS = "write_orders"
    # Spreadsheets of clients, contacts or orders, with a dry run first.
    IMPORT_DATA = "import_data"
    # API tokens for machines: only people hold this, no token can make another.
    MANAGE_TOKENS = "manage_tokens"
    # Endpoints that receive events (webhooks) and their delivery log.
    MANAGE_WEBHOOKS = "manage_webhooks"


class Scope(StrEnum):
    """What an API token may do; each scope grants a fixed set of permissions."""

    ORDERS_READ = "orders:read"
    ORDERS_WRITE = "orders:write"
    CONTACTS_WRITE = "contacts:write"
    ARCHIVE_READ = "archive:read"
    EVENTS_MANAGE = "events:manage"


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
    # Set when a machine acts with an API token: it may do exactly what `scopes` grant, and
    # what it changes is recorded as the token. `employee_id` is then 0 (no person).
    token_id: int | None = None
    scopes: frozenset[Scope] = frozenset()


class Decision(msgspec.Struct, frozen=True):
    allowed: bool
    reason: str = ""
    # A refusal's code and the values its words name, for the UI's catalogues.
    code: Code | None = None
    params: dict[str, str] = msgspec.field(default_factory=dict)

    def refusal(self) -> Forbidden:
        """The refusal to raise when the decision says no."""
        return Forbidden(self.reason, code=self.code or Code.NOT_ALLOWED, params=self.params)


ALLOWED = Decision(True)

_EVERYONE = frozenset(
    {
        Permission.PUBLIC,
        Permission.SIGNED_IN,
        # Technicians see only their own orders; `sees_all_orders` narrows the scope.
        Permission.VIEW_ORDERS,
        Permission.ADD_ORDER_FILES,
        Permission.VIEW_CLIENTS,
        Permission.VIEW_TEMPLATES,
        Permission.VIEW_ARCHIVE,
        # Whoever may see an archived email may leave an internal note beside it.
        Permission.ANNOTATE_ARCHIVE,
    }
)

_BY_ROLE: dict[Role, frozenset[Permission]] = {
    Role.DISPATCHER: frozenset({Permission.WRITE_CLIENTS, Permission.WRITE_ORDERS}),
    Role.COORDINATOR: frozenset(
        {Permission.EXPORT_BILLING, Permission.WRITE_CLIENTS, Permission.WRITE_ORDERS}
    ),
    Role.TECHNICIAN: frozenset(),
    Role.BACKOFFICE: frozenset(
        {
            Permission.MANAGE_EMPLOYEES,
            Permission.MANAGE_COMPANY,
            Permission.ASSIGN_RESPONSIBLE,
            Permission.VIEW_PERMISSION_CHANGES,
            Permission.MANAGE_TEMPLATES,
            Permission.MANAGE_ARCHIVE,
            Permission.EXPORT_BILLING,
            Permission.WRITE_CLIENTS,
            Permission.WRITE_ORDERS,
            Permission.IMPORT_DATA,
            Permission.MANAGE_TOKENS,
            Permission.MANAGE_WEBHOOKS,
        }
    ),
}

_BY_SCOPE: dict[Scope, frozenset[Permission]] = {
    Scope.ORDERS_READ: frozenset({Permission.VIEW_ORDERS, Permission.VIEW_CLIENTS}),
    # An ERP that keeps the orders keeps who is responsible for them too.
    Scope.ORDERS_WRITE: frozenset(
        {
            Permission.VIEW_ORDERS,
            Permission.VIEW_CLIENTS,
            Permission.WRITE_ORDERS,
            Permission.ASSIGN_RESPONSIBLE,
        }
    ),
    Scope.CONTACTS_WRITE: frozenset({Permission.VIEW_CLIENTS, Permission.WRITE_CLIENTS}),
    Scope.ARCHIVE_READ: frozenset({Permission.VIEW_ARCHIVE}),
    Scope.EVENTS_MANAGE: frozenset({Permission.MANAGE_WEBHOOKS}),
}

_ROLE_LABELS = {Role.BACKOFFICE: "back-office"}


def permissions(actor: Actor) -> frozenset[Permission]:
    if actor.token_id is not None:
        return frozenset({Permission.PUBLIC}).union(*(_BY_SCOPE[s] for s in actor.scopes))
    held = set(_EVERYONE)
    if may_email_at_all(actor).allowed:
        held.add(Permission.COMPOSE_EMAIL)
    for role in actor.roles:
        held |= _BY_ROLE[role]
    return frozenset(held)


def decide(actor: Actor, needs: Permission) -> Decision:
    """May `actor` use an endpoint that needs `needs`?"""
    if needs is Permission.COMPOSE_EMAIL:
        return may_email_at_all(actor)
    if needs in permissions(actor):
        return ALLOWED
    if actor.token_id is not None:
        granting = [s.value for s, held in _BY_SCOPE.items() if needs in held]
        if not granting:
            return Decision(
                False, "API tokens may not do this; sign in as a person.", Code.TOKEN_NOT_PERMITTED
            )
        return Decision(
            False,
            f"This token lacks the scope {' or '.join(granting)}.",
            Code.TOKEN_LACKS_SCOPE,
            {"scopes": " | ".join(granting)},
        )
    held_by = [r for r, held in _BY_ROLE.items() if needs in held]
    if not held_by:
        return Decision(False, "Only authorised staff may do this.", Code.NOT_ALLOWED)
    holders = [_ROLE_LABELS.get(r, r.value) for r in held_by]
    return Decision(
        False,
        f"Only {' or '.join(holders)} staff may do this.",
        Code.ROLE_REQUIRED,
        # Role values, for the UI to name each as its role labels do.
        {"roles": ",".join(r.value for r in held_by)},
    )


def sees_all_orders(actor: Actor) -> bool:
    """Dispatchers, coordinators and back-office see every order of their company; others
    (technicians) only those they are responsible for or worked on. A token acts for the
    whole company."""
    if actor.token_id is not None:
        return True
    return bool(actor.roles & {Role.DISPATCHER, Role.COORDINATOR, Role.BACKOFFICE})


def may_email_at_all(actor: Actor) -> Decision:
    """The switches: the company's and the employee's. Machines never email."""
    if actor.token_id is not None:
        return Decision(False, "API tokens cannot send emails.", Code.TOKEN_CANNOT_EMAIL)
    if not actor.company_email_enabled:
        return Decision(False, "Email is switched off for the company.", Code.COMPANY_EMAIL_OFF)
    if not actor.may_email:
        return Decision(False, "Email is switched off for you.", Code.EMPLOYEE_EMAIL_OFF)
    return ALLOWED


def may_email_on_order(actor: Actor, *, responsible: bool) -> Decision:
    """The email rule: company switch on, the employee's switch on, and responsible for the
    order or dispatcher or coordinator."""
    switches = may_email_at_all(actor)
    if not switches.allowed:
        return switches
    if not responsible and not actor.roles & {Role.DISPATCHER, Role.COORDINATOR}:
        return Decision(
            False,
            "You are not responsible for this order and are neither dispatcher nor coordinator.",
            Code.NOT_RESPONSIBLE,
        )
    return ALLOWED
