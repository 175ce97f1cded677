"""Creating companies and employees, with the checks a person can act on."""

from __future__ import annotations

from collections.abc import Iterable

from organisatrice.core.addresses import valid_address
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Conflict, Invalid
from organisatrice.roles.auth import normalise_email
from organisatrice.roles.passwords import MIN_LENGTH, hash_password
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company, Employee


def parse_roles(names: Iterable[str]) -> frozenset[Role]:
    roles: set[Role] = set()
    for name in names:
        try:
            roles.add(Role(name.strip().lower()))
        except ValueError:
            known = ", ".join(r.value for r in Role)
            raise Invalid(
                f"Unknown role {name!r}; known roles: {known}.",
                code=Code.ROLE_UNKNOWN,
                params={"role": name},
                field="roles",
            ) from None
    return frozenset(roles)


# The languages of the UI's catalogues and of the server's texts to a person.
LOCALES = ("de", "fr", "it", "en")


def checked_locale(locale: str) -> str:
    """One of the four languages exactly; the value is not echoed, it may be anything."""
    if locale not in LOCALES:
        raise Invalid(
            f"Unknown language; use one of {', '.join(LOCALES)}.",
            field="locale",
            code=Code.UNKNOWN_LOCALE,
        )
    return locale


def checked_email(email: str) -> str:
    return normalise_email(valid_address(email, label="The email address", field="email").email)


async def create_employee(
    *,
    company_id: int,
    first_name: str,
    last_name: str,
    email: str,
    roles: frozenset[Role],
    password: str = "",
    password_hash: str | None = None,
    phone: str = "",
    locale: str = "de",
    time_zone: str = "Europe/Zurich",
    may_email: bool = True,
) -> int:
    """Insert an employee. `password_hash` lets bulk loaders reuse one hash."""
    email = checked_email(email)
    if password_hash is None:
        if len(password) < MIN_LENGTH:
            raise Invalid(
                f"The password must have at least {MIN_LENGTH} characters.",
                code=Code.PASSWORD_TOO_SHORT,
                params={"min": MIN_LENGTH},
                field="password",
            )
        password_hash = hash_password(password)
    holder = await Employee.select(Employee.company).where(Employee.email == email).first()
    if holder is not None:
        # Addresses sign in across all companies, so one can serve only one employee; whether
        # another company has it is that company's business.
        if holder["company"] == company_id:
            raise Conflict(
                f"An employee with the address {email} exists already.",
                code=Code.EMPLOYEE_EMAIL_TAKEN,
                params={"email": email},
                field="email",
            )
        raise Conflict(
            f"The address {email} cannot be used for a new employee; ask for another.",
            code=Code.EMPLOYEE_EMAIL_UNAVAILABLE,
            params={"email": email},
            field="email",
        )
    employee = Employee(
        company=company_id,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=email,
        phone=phone,
        locale=locale,
        time_zone=time_zone,
        password_hash=password_hash,
        roles=sorted(r.value for r in roles),
        may_email=may_email,
    )
    await employee.save()
    return int(employee.id)


async def create_employee_with_company(
    *,
    company_name: str,
    email: str,
    first_name: str,
    last_name: str,
    roles: Iterable[str],
    password: str,
) -> int:
    """For the CLI: create the company when it does not exist yet, then the employee."""
    parsed = parse_roles(roles)
    async with transaction():
        company = await Company.select(Company.id).where(Company.name == company_name).first()
        if company is None:
            new = Company(name=company_name)
            await new.save()
            company_id = int(new.id)
        else:
            company_id = company["id"]
        return await create_employee(
            company_id=company_id,
            first_name=first_name,
            last_name=last_name,
            email=email,
            roles=parsed,
            password=password,
        )
