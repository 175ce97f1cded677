"""What the roles room takes and answers."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec

from organisatrice.core.structs import ONE_LINE, In, Out
from organisatrice.roles.policy import Actor, Permission, Role, Scope, permissions

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
EmailText = Annotated[str, msgspec.Meta(min_length=3, max_length=254)]


class SignInIn(In):
    email: EmailText
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class MeOut(Out):
    employee_id: int
    first_name: str
    last_name: str
    email: str
    company_id: int
    company_name: str
    roles: list[Role]
    permissions: list[Permission]
    may_email: bool
    company_email_enabled: bool
    locale: str
    time_zone: str

    @classmethod
    def of(cls, actor: Actor) -> MeOut:
        return cls(
            employee_id=actor.employee_id,
            first_name=actor.first_name,
            last_name=actor.last_name,
            email=actor.email,
            company_id=actor.company_id,
            company_name=actor.company_name,
            roles=sorted(actor.roles),
            permissions=sorted(permissions(actor)),
            may_email=actor.may_email,
            company_email_enabled=actor.company_email_enabled,
            locale=actor.locale,
            time_zone=actor.time_zone,
        )


class EmployeeOut(Out):
    id: int
    first_name: str
    last_name: str
    email: str
    phone: str
    locale: str
    time_zone: str
    roles: list[Role]
    may_email: bool
    active: bool


# A language as sent: checked against the four by the service, so that any other value gets
# the same 422 with the code `unknown_locale`, not a parser's 400.
LocaleText = Annotated[str, msgspec.Meta(max_length=1000)]


class EmployeeIn(In):
    first_name: Name
    last_name: Name
    email: EmailText
    password: Annotated[str, msgspec.Meta(max_length=1000)]
    roles: Annotated[list[str], msgspec.Meta(max_length=4)]
    phone: Annotated[str, msgspec.Meta(max_length=50, pattern=ONE_LINE)] = ""
    locale: LocaleText = "de"
    time_zone: Annotated[str, msgspec.Meta(max_length=64)] = "Europe/Zurich"
    may_email: bool = True


class EmployeePatch(In):
    roles: list[str] | msgspec.UnsetType = msgspec.UNSET
    may_email: bool | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
    locale: LocaleText | msgspec.UnsetType = msgspec.UNSET


class LocaleIn(In):
    """The language of your screens and of the server's emails to you: de, fr, it or en."""

    locale: LocaleText


class CompanyOut(Out):
    id: int
    name: str
    email_enabled: bool
    street: str
    postal_code: str
    city: str
    phone: str
    email: str
    website: str
    brand_colour: str
    sender_address: str
    mail_size_budget: int
    # The logo image (GET), its address changing with the logo; None without a logo.
    logo_url: str | None


Line = Annotated[str, msgspec.Meta(max_length=200, pattern=ONE_LINE)]


class CompanyPatch(In):
    """Company details shown in signatures and reports, and its mail settings; absent fields
    stay as they are."""

    email_enabled: bool | msgspec.UnsetType = msgspec.UNSET
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=ONE_LINE)] | (
        msgspec.UnsetType
    ) = msgspec.UNSET
    street: Line | msgspec.UnsetType = msgspec.UNSET
    postal_code: Annotated[str, msgspec.Meta(max_length=20)] | msgspec.UnsetType = msgspec.UNSET
    city: Annotated[str, msgspec.Meta(max_length=100)] | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=50, pattern=ONE_LINE)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    email: Annotated[str, msgspec.Meta(max_length=254)] | msgspec.UnsetType = msgspec.UNSET
    website: Line | msgspec.UnsetType = msgspec.UNSET
    brand_colour: Annotated[str, msgspec.Meta(pattern="^#[0-9a-fA-F]{6}$")] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    sender_address: Annotated[str, msgspec.Meta(max_length=254)] | msgspec.UnsetType = msgspec.UNSET
    mail_size_budget: (
        Annotated[int, msgspec.Meta(ge=1_000_000, le=50_000_000)] | msgspec.UnsetType
    ) = msgspec.UNSET


class PermissionChangeOut(Out):
    id: int
    at: datetime
    changed_by_id: int | None
    changed_by_name: str
    subject: str
    subject_id: int
    subject_label: str
    field: str
    before: Any
    after: Any


class ApiTokenIn(In):
    """A new API token: a name that says which system uses it, and what it may do."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=100, pattern=ONE_LINE)]
    scopes: Annotated[list[Scope], msgspec.Meta(min_length=1, max_length=len(Scope))]
    expires_at: datetime | None = None


class ApiTokenOut(Out):
    id: int
    name: str
    scopes: list[Scope]
    prefix: str
    created_at: datetime
    created_by_name: str
    last_used_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    active: bool


class ApiTokenCreated(Out):
    """The token's secret, shown this once: the server keeps only its hash."""

    token: ApiTokenOut
    secret: str


Password = Annotated[str, msgspec.Meta(max_length=1000)]


class PasswordChangeIn(In):
    current_password: Password
    new_password: Password


class PasswordSetIn(In):
    """A password set through the single-use link of a reset or an invitation."""

    token: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    new_password: Password
