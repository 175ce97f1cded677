"""What the roles room takes and answers."""

from __future__ import annotations

from typing import Annotated

import msgspec

from organisatrice.core.structs import In, Out
from organisatrice.roles.policy import Actor, Role


class SignInIn(In):
    email: Annotated[str, msgspec.Meta(min_length=3, max_length=254)]
    password: Annotated[str, msgspec.Meta(min_length=1, max_length=1000)]


class MeOut(Out):
    employee_id: int
    first_name: str
    last_name: str
    email: str
    company_id: int
    company_name: str
    roles: list[Role]
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
            locale=actor.locale,
            time_zone=actor.time_zone,
        )
