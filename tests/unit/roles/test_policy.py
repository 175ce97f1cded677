"""The rule book, called directly: each clause of the email rule with its reason."""

from __future__ import annotations

import pytest

from organisatrice.roles.policy import (
    Actor,
    Permission,
    Role,
    decide,
    may_email_on_order,
    permissions,
    sees_all_orders,
)


def actor(*roles: Role, may_email: bool = True, company_email_enabled: bool = True) -> Actor:
    return Actor(
        employee_id=1,
        company_id=1,
        company_name="Meier AG",
        first_name="Eva",
        last_name="Keller",
        email="eva@test.example",
        locale="de",
        time_zone="Europe/Zurich",
        roles=frozenset(roles),
        may_email=may_email,
        company_email_enabled=company_email_enabled,
    )


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.COORDINATOR])
def test_dispatcher_and_coordinator_may_email_on_any_order(role: Role) -> None:
    assert may_email_on_order(actor(role), responsible=False).allowed


def test_responsible_technician_may_email() -> None:
    assert may_email_on_order(actor(Role.TECHNICIAN), responsible=True).allowed


def test_technician_not_responsible_may_not_email() -> None:
    decision = may_email_on_order(actor(Role.TECHNICIAN), responsible=False)
    assert not decision.allowed
    assert decision.reason == (
        "You are not responsible for this order and are neither dispatcher nor coordinator."
    )


def test_backoffice_alone_is_not_enough_to_email_an_order_one_is_not_responsible_for() -> None:
    assert not may_email_on_order(actor(Role.BACKOFFICE), responsible=False).allowed


def test_company_switch_off_forbids_email_for_everyone() -> None:
    decision = may_email_on_order(
        actor(Role.DISPATCHER, company_email_enabled=False), responsible=True
    )
    assert not decision.allowed
    assert decision.reason == "Email is switched off for the company."


def test_employee_switch_off_forbids_email_even_for_a_dispatcher() -> None:
    decision = may_email_on_order(actor(Role.DISPATCHER, may_email=False), responsible=True)
    assert not decision.allowed
    assert decision.reason == "Email is switched off for you."


def test_company_switch_is_named_before_the_personal_one() -> None:
    decision = may_email_on_order(
        actor(Role.COORDINATOR, may_email=False, company_email_enabled=False), responsible=True
    )
    assert decision.reason == "Email is switched off for the company."


def test_only_backoffice_manages_employees_and_says_so() -> None:
    for role in (Role.DISPATCHER, Role.COORDINATOR, Role.TECHNICIAN):
        decision = decide(actor(role), Permission.MANAGE_EMPLOYEES)
        assert not decision.allowed
        assert decision.reason == "Only back-office staff may do this."
    assert decide(actor(Role.BACKOFFICE), Permission.MANAGE_EMPLOYEES).allowed


def test_an_employee_without_roles_still_sees_signed_in_things() -> None:
    assert Permission.SIGNED_IN in permissions(actor())
    assert Permission.MANAGE_COMPANY not in permissions(actor())


def test_technicians_do_not_see_all_orders() -> None:
    assert not sees_all_orders(actor(Role.TECHNICIAN))
    assert all(
        sees_all_orders(actor(r)) for r in (Role.DISPATCHER, Role.COORDINATOR, Role.BACKOFFICE)
    )
