"""Webhook endpoints for tests that need one without going through the outbound guard."""

from __future__ import annotations

from organisatrice.core.db import transaction
from organisatrice.events.endpoints import new_secret
from organisatrice.events.outbox import NewEvent, write
from organisatrice.events.schemas import TEST_EVENT, WebhookTestData
from organisatrice.events.tables import WebhookEndpoint
from organisatrice.mail.relay import encrypt_password


async def make_webhook_endpoint(
    company_id: int, *, url: str = "https://127.0.0.1:9/hooks", event_types: tuple[str, ...] = ()
) -> tuple[int, int]:
    """An endpoint stored as registered, with one event waiting for it: (endpoint, delivery)."""
    async with transaction():
        [made] = await WebhookEndpoint.insert(
            WebhookEndpoint(
                company=company_id,
                url=url,
                event_types=list(event_types) or ["email.bounced"],
                secret_encrypted=encrypt_password(new_secret()),
            )
        ).returning(WebhookEndpoint.id)
        written = await write(
            [
                NewEvent(
                    company_id=company_id,
                    type=TEST_EVENT,
                    data=WebhookTestData(endpoint_id=made["id"], message="Waiting."),
                    endpoint_ids=[made["id"]],
                )
            ]
        )
    [[delivery_id]] = written.values()
    return int(made["id"]), delivery_id
