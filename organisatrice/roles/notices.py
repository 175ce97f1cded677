"""Each employee's choice of notifications: which kinds they see, and which also come to
their own address by email. Kinds offered follow the roles: coordinators and back-office are
told about others' work reports, back-office about the relay."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import msgspec

from organisatrice.core.structs import In, Out
from organisatrice.roles.policy import Actor, Permission, Role, permissions
from organisatrice.roles.tables import Employee


class NoticeKind(StrEnum):
    # An email I wrote (back-office: anyone's) failed or bounced.
    FAILED_EMAIL = "failed_email"
    # Someone else's work report failed or bounced (coordinators, back-office).
    WORK_REPORT = "work_report"
    # A client answered.
    CLIENT_REPLY = "client_reply"
    # The relay cannot send or its tracking probe failed (back-office).
    RELAY = "relay"


EMAILABLE = frozenset({NoticeKind.FAILED_EMAIL, NoticeKind.WORK_REPORT, NoticeKind.CLIENT_REPLY})


class NoticeChoice(msgspec.Struct, frozen=True):
    kind: NoticeKind
    shown: bool = True
    emailed: bool = False
    # Since when it is emailed: what happened before is not emailed after the switch.
    emailed_since: datetime | None = None


class NoticeChoiceIn(In):
    kind: NoticeKind
    shown: bool
    emailed: bool


class NoticeChoicesIn(In):
    choices: list[NoticeChoiceIn]


class NoticeChoiceOut(Out):
    kind: NoticeKind
    shown: bool
    emailed: bool
    # False: only shown (the relay's problems).
    may_email: bool


def offered(actor: Actor) -> list[NoticeKind]:
    kinds = [NoticeKind.FAILED_EMAIL]
    held = permissions(actor)
    if Role.COORDINATOR in actor.roles or Permission.MANAGE_COMPANY in held:
        kinds.append(NoticeKind.WORK_REPORT)
    kinds.append(NoticeKind.CLIENT_REPLY)
    if Permission.MANAGE_COMPANY in held:
        kinds.append(NoticeKind.RELAY)
    return kinds


def _decoded(stored: str) -> dict[NoticeKind, NoticeChoice]:
    if not stored:
        return {}
    return {c.kind: c for c in msgspec.json.decode(stored, type=list[NoticeChoice])}


async def choices_of(actor: Actor) -> dict[NoticeKind, NoticeChoice]:
    """Every kind offered to the actor with their choice (the default where they made none)."""
    row = (
        await Employee.select(Employee.notice_choices)
        .where(Employee.id == actor.employee_id)
        .first()
    )
    stored = _decoded(row["notice_choices"] if row else "")
    return {k: stored.get(k, NoticeChoice(kind=k)) for k in offered(actor)}


def _out(choices: dict[NoticeKind, NoticeChoice]) -> list[NoticeChoiceOut]:
    return [
        NoticeChoiceOut(
            kind=c.kind, shown=c.shown, emailed=c.emailed, may_email=c.kind in EMAILABLE
        )
        for c in choices.values()
    ]


async def notice_choices(actor: Actor) -> list[NoticeChoiceOut]:
    return _out(await choices_of(actor))


async def change_notice_choices(actor: Actor, data: NoticeChoicesIn) -> list[NoticeChoiceOut]:
    """Set the given kinds; kinds not offered to the actor are ignored. A kind emailed from now
    on is emailed about what happens from now on."""
    current = await choices_of(actor)
    now = datetime.now(UTC)
    for given in data.choices:
        before = current.get(given.kind)
        if before is None:
            continue
        # Emailing the relay's problems would go through the relay that has them.
        emailed = given.emailed and given.kind in EMAILABLE
        since = (before.emailed_since if before.emailed else now) if emailed else None
        current[given.kind] = NoticeChoice(
            kind=given.kind, shown=given.shown, emailed=emailed, emailed_since=since
        )
    await Employee.update(
        {Employee.notice_choices: msgspec.json.encode(list(current.values())).decode()}
    ).where(Employee.id == actor.employee_id)
    return _out(current)


async def employees_emailed() -> list[int]:
    """Active employees with some kind emailed: those the notice mailer looks at."""
    rows = await Employee.select(Employee.id).where(
        (Employee.active == True)  # noqa: E712
        & Employee.notice_choices.like('%"emailed":true%')
    )
    return [r["id"] for r in rows]
