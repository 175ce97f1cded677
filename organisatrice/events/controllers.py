"""HTTP for webhook endpoints, their test event, delivery log and resending (back-office, or an
API token with the scope events:manage)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, delete, get, patch, post
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter

from organisatrice.core.http import PathId
from organisatrice.core.structs import Page
from organisatrice.events import endpoints
from organisatrice.events.schemas import (
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
)
from organisatrice.roles.policy import Actor, Permission

_MANAGE = {"needs": Permission.MANAGE_WEBHOOKS}


class WebhookController(Controller):
    path = "/api/webhooks"
    tags = ["Webhooks"]

    @get("/", opt=_MANAGE, operation_id="ListWebhookEndpoints")
    async def list_endpoints(self, actor: NamedDependency[Actor]) -> list[WebhookEndpointOut]:
        """The company's endpoints; a paused one says since when and why."""
        return await endpoints.list_endpoints(actor)

    @post("/", opt=_MANAGE, operation_id="CreateWebhookEndpoint")
    async def create(
        self, actor: NamedDependency[Actor], data: JSONBody[WebhookEndpointIn]
    ) -> WebhookEndpointCreated:
        """Register an endpoint for some event types; the signing secret is in this answer
        and never again. Internal addresses are refused unless the operator allows them."""
        return await endpoints.create_endpoint(actor, data)

    @patch("/{endpoint_id:int}", opt=_MANAGE, operation_id="ChangeWebhookEndpoint")
    async def change(
        self,
        endpoint_id: PathId,
        actor: NamedDependency[Actor],
        data: JSONBody[WebhookEndpointPatch],
    ) -> WebhookEndpointOut:
        """Change the address, description, event types, or switch it off or on again (which
        also resumes a paused endpoint)."""
        return await endpoints.change_endpoint(actor, endpoint_id, data)

    @delete("/{endpoint_id:int}", opt=_MANAGE, operation_id="DeleteWebhookEndpoint")
    async def delete_endpoint(self, endpoint_id: PathId, actor: NamedDependency[Actor]) -> None:
        """Remove the endpoint with its delivery log."""
        await endpoints.delete_endpoint(actor, endpoint_id)

    @post(
        "/{endpoint_id:int}/test",
        opt=_MANAGE,
        operation_id="SendWebhookTest",
        status_code=200,
    )
    async def send_test(
        self, endpoint_id: PathId, actor: NamedDependency[Actor]
    ) -> WebhookDeliveryOut:
        """Send a webhook.test event now and answer what the endpoint said."""
        return await endpoints.send_test(actor, endpoint_id)

    @get("/{endpoint_id:int}/attempts", opt=_MANAGE, operation_id="ListWebhookAttempts")
    async def attempts(
        self,
        endpoint_id: PathId,
        actor: NamedDependency[Actor],
        page: Annotated[int, QueryParameter(ge=1, le=100_000)] = 1,
        per_page: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> Page[WebhookAttemptOut]:
        """The delivery log: every attempt, newest first, with the answer and its time."""
        return await endpoints.delivery_log(actor, endpoint_id, page=page, per_page=per_page)

    @post(
        "/{endpoint_id:int}/deliveries/{delivery_id:int}/resend",
        opt=_MANAGE,
        operation_id="ResendWebhookEvent",
        status_code=202,
    )
    async def resend(
        self, endpoint_id: PathId, delivery_id: PathId, actor: NamedDependency[Actor]
    ) -> WebhookDeliveryOut:
        """Send one event to the endpoint again, with the same id."""
        return await endpoints.resend(actor, endpoint_id, delivery_id)


CONTROLLERS = [WebhookController]
