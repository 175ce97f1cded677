"""Email templates: back-office writes them, everyone who may email picks from them.

A template is checked on every save by rendering each field against a sample order, so an
unknown placeholder or a syntax error is refused with the field and line, never discovered by
a dispatcher in front of a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from organisatrice.compose.context import OrderContext
from organisatrice.compose.rendering import placeholders, render_bounded
from organisatrice.compose.samples import sample_context
from organisatrice.compose.schemas import (
    PlaceholderOut,
    TemplateContent,
    TemplateIn,
    TemplateOut,
    TemplatePatch,
)
from organisatrice.compose.tables import EmailTemplate
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import NotFound
from organisatrice.mail.message import refuse_unsafe_header
from organisatrice.roles.accounts import parse_roles
from organisatrice.roles.policy import Actor, Permission, permissions

RENDERED_FIELDS = (
    "subject",
    "greeting",
    "motivation",
    "closing",
    "signature",
    "attachment_filename",
)


async def render_sample(
    template: TemplateContent, also: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The template's fields, and the sources in `also` (named by the field they come from),
    rendered for the sample order; refused as a draft of it would be: the check on saving and
    the editor's preview are the same."""
    context = msgspec.to_builtins(sample_context(template.language))
    sources = {f: getattr(template, f) for f in RENDERED_FIELDS}
    rendered = await render_bounded({**sources, **(also or {})}, context)
    # Every draft would inherit a subject its email cannot be built with.
    refuse_unsafe_header(rendered["subject"], "The subject", "subject")
    return rendered


async def check_template(template: TemplateIn) -> None:
    """Refuse a template whose fields would not render for a real order."""
    await render_sample(template)
    parse_roles(template.roles)


def _out(row: dict[str, Any]) -> TemplateOut:
    return msgspec.convert(row, TemplateOut)


def _visible_to(actor: Actor, roles: list[str]) -> bool:
    return (
        Permission.MANAGE_TEMPLATES in permissions(actor)
        or not roles
        or any(r in actor.roles for r in roles)
    )


async def list_templates(actor: Actor) -> list[TemplateOut]:
    """Back-office sees every template; others those meant for one of their roles."""
    rows = (
        await EmailTemplate.select()
        .where(EmailTemplate.company == actor.company_id)
        .order_by(EmailTemplate.kind)
        .order_by(EmailTemplate.name)
    )
    return [_out(r) for r in rows if _visible_to(actor, r["roles"])]


async def template_row(actor: Actor, template_id: int) -> dict[str, Any]:
    row = (
        await EmailTemplate.select()
        .where((EmailTemplate.company == actor.company_id) & (EmailTemplate.id == template_id))
        .first()
    )
    if row is None or not _visible_to(actor, row["roles"]):
        raise NotFound(
            f"Template {template_id} does not exist.",
            code=Code.TEMPLATE_NOT_FOUND,
            params={"id": template_id},
        )
    return dict(row)


async def get_template(actor: Actor, template_id: int) -> TemplateOut:
    return _out(await template_row(actor, template_id))


def _columns(template: TemplateIn) -> dict[str, Any]:
    values = msgspec.structs.asdict(template)
    values["kind"] = template.kind.value
    values["attachments"] = [a.value for a in template.attachments]
    values["roles"] = sorted(r.value for r in parse_roles(template.roles))
    return values


async def create_template(actor: Actor, template: TemplateIn) -> TemplateOut:
    await check_template(template)
    row = EmailTemplate(company=actor.company_id, **_columns(template))
    await row.save()
    return await get_template(actor, int(row.id))


async def change_template(actor: Actor, template_id: int, patch: TemplatePatch) -> TemplateOut:
    async with transaction():
        current = await get_template(actor, template_id)
        merged = TemplateIn(
            **{field: _patched(patch, current, field) for field in TemplateIn.__struct_fields__}
        )
        await check_template(merged)
        values = {**_columns(merged), "modified_at": datetime.now(UTC)}
        await EmailTemplate.update(values).where(EmailTemplate.id == template_id)  # type: ignore[arg-type]
    return await get_template(actor, template_id)


def _patched(patch: TemplatePatch, current: TemplateOut, field: str) -> Any:
    value = getattr(patch, field)
    return getattr(current, field) if value is msgspec.UNSET else value


async def duplicate_template(actor: Actor, template_id: int) -> TemplateOut:
    current = await get_template(actor, template_id)
    copy = TemplateIn(
        **{f: getattr(current, f) for f in TemplateIn.__struct_fields__ if f != "name"},
        name=f"{current.name} (copy)"[:200],
    )
    return await create_template(actor, copy)


async def delete_template(actor: Actor, template_id: int) -> None:
    await get_template(actor, template_id)
    await EmailTemplate.delete().where(EmailTemplate.id == template_id)


def placeholder_list(language: str = "de") -> list[PlaceholderOut]:
    context = msgspec.to_builtins(sample_context(language))
    out = []
    for name in placeholders(OrderContext):
        value: Any = context
        for part in name.split("."):
            value = value[part]
        out.append(PlaceholderOut(name=name, example=str(value)))
    return out
