"""HTTP for sent emails' state and history, the send quota, and the relay settings."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import JSONBody, QueryParameter
from litestar.response import Redirect

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, NotFound
from organisatrice.core.http import PathId, file_response
from organisatrice.core.structs import In
from organisatrice.mail import account_links, limits, outbox, settings_api, tracking
from organisatrice.mail.schemas import (
    EmailDetailOut,
    OAuthConsentOut,
    RelayOut,
    RelayTestOut,
    SentEmailOut,
)
from organisatrice.orders.services import visible_order
from organisatrice.roles.auth import SESSION_COOKIE, token_hash
from organisatrice.roles.policy import Actor, Permission

_VIEW = {"needs": Permission.VIEW_ORDERS}
_COMPANY = {"needs": Permission.MANAGE_COMPANY}


class EmailController(Controller):
    path = "/api"
    tags = ["Sent emails"]

    @get("/orders/{order_id:int}/emails", opt=_VIEW, operation_id="ListOrderEmails")
    async def of_order(self, order_id: PathId, actor: NamedDependency[Actor]) -> list[SentEmailOut]:
        """The order's sent emails, newest first, with each recipient's status."""
        await visible_order(actor, order_id)
        return await outbox.emails_of_order(actor.company_id, order_id)

    @get("/emails/{email_id:int}", opt=_VIEW, operation_id="GetEmail")
    async def detail(self, email_id: PathId, actor: NamedDependency[Actor]) -> EmailDetailOut:
        """One sent email: status per recipient and its history with times and details."""
        order_id = await outbox.order_of_email(actor.company_id, email_id)
        if order_id is None:
            raise NotFound(
                f"Email {email_id} does not exist.",
                code=Code.EMAIL_NOT_FOUND,
                params={"id": email_id},
            )
        await visible_order(actor, order_id)
        return await outbox.email_detail(email_id)


class MailSettingsController(Controller):
    path = "/api/mail"
    tags = ["Mail settings"]

    @get("/quota", opt={"needs": Permission.SIGNED_IN}, operation_id="GetMailQuota")
    async def quota(self, actor: NamedDependency[Actor]) -> limits.QuotaOut:
        """How much of today's and this month's send limit the company has used."""
        return await limits.quota(actor.company_id, actor.time_zone)

    @get("/relay", opt=_COMPANY, operation_id="GetMailRelay")
    async def get_relay(self, actor: NamedDependency[Actor]) -> RelayOut:
        """The company's relay (the password is never returned, only whether one is set)."""
        return await settings_api.get_relay(actor)

    @put("/relay", opt=_COMPANY, operation_id="SetMailRelay")
    async def set_relay(
        self, actor: NamedDependency[Actor], data: JSONBody[settings_api.RelayIn]
    ) -> RelayOut:
        """Set the relay, its password (encrypted at rest) and the send limits; recorded."""
        return await settings_api.set_relay(actor, data)

    @post("/relay/test", opt=_COMPANY, operation_id="TestMailRelay", status_code=200)
    async def test_relay(self, actor: NamedDependency[Actor]) -> RelayTestOut:
        """Connect to the relay and report what it said, and whether it announces DSN."""
        return await settings_api.test_relay(actor)

    @post(
        "/relay/oauth/connect",
        opt=_COMPANY,
        operation_id="ConnectMailRelayAccount",
        status_code=200,
    )
    async def connect(
        self, actor: NamedDependency[Actor], request: Request[Any, Any, Any]
    ) -> OAuthConsentOut:
        """Start the provider's consent for the relay account (Google Workspace): the address of
        its consent page, whose answer comes back to the callback in this sign-in session."""
        return await settings_api.start_consent(actor, _session_hash(request))

    @get("/relay/oauth/callback", opt=_COMPANY, operation_id="MailRelayConsentCallback")
    async def callback(
        self,
        actor: NamedDependency[Actor],
        request: Request[Any, Any, Any],
        code: Annotated[str, QueryParameter(max_length=2000)] = "",
        # `state` is the name Litestar keeps for the app's state.
        consent_state: Annotated[str, QueryParameter(name="state", max_length=500)] = "",
        error: Annotated[str, QueryParameter(max_length=200)] = "",
    ) -> Redirect:
        """Where the provider sends the browser back: the code is exchanged for a refresh
        token; then back to the relay settings, which say whether it worked."""
        try:
            await settings_api.finish_consent(
                actor, _session_hash(request), code=code, state=consent_state, error=error
            )
        except Invalid as refused:
            answer = {"oauth_error": refused.code or "oauth_failed"}
        else:
            answer = {"oauth": "connected"}
        return Redirect(path=f"/#/admin/company?{urlencode(answer)}")

    @get("/tracking", opt=_COMPANY, operation_id="GetTracking")
    async def get_tracking(self, actor: NamedDependency[Actor]) -> tracking.TrackingOut:
        """Whether delivery reports reach the app: the last probe, the daily setting, and the
        reports that could not be attributed."""
        return await tracking.tracking_health(actor)

    @post("/tracking/probe", opt=_COMPANY, operation_id="VerifyTracking", status_code=200)
    async def verify(self, actor: NamedDependency[Actor]) -> tracking.TrackingOut:
        """Send a probe through the relay to the company's own return address; it is verified
        when the inbound receiver takes it (poll GET /tracking)."""
        return await tracking.verify_tracking(actor)

    @put("/tracking", opt=_COMPANY, operation_id="SetTracking")
    async def set_tracking(
        self, actor: NamedDependency[Actor], data: JSONBody[tracking.TrackingIn]
    ) -> tracking.TrackingOut:
        """Send a probe every day (the mail worker does), or not."""
        return await tracking.set_daily(actor, data)

    @get("/reports/{report_id:int}", opt=_COMPANY, operation_id="GetInboundReport")
    async def report(self, report_id: PathId, actor: NamedDependency[Actor]) -> Response[bytes]:
        """A report the receiver kept, as it arrived (an .eml file)."""
        data = await tracking.report_bytes(actor, report_id)
        return file_response(data, "message/rfc822", f"report-{report_id}.eml")


def _session_hash(request: Request[Any, Any, Any]) -> str | None:
    token = request.cookies.get(SESSION_COOKIE)
    return token_hash(token) if token else None


class PasswordLinkIn(In):
    purpose: Literal["reset", "invitation"] = "reset"


class PasswordLinkController(Controller):
    path = "/api/employees/{employee_id:int}/password-link"
    tags = ["Back-office"]

    @post(
        "/",
        opt={"needs": Permission.MANAGE_EMPLOYEES},
        operation_id="SendPasswordLink",
        status_code=204,
    )
    async def send(
        self, employee_id: PathId, actor: NamedDependency[Actor], data: JSONBody[PasswordLinkIn]
    ) -> None:
        """Email the employee a single-use link (24 hours) to set their password: a reset, or
        the invitation of a new employee; through the company's relay."""
        await account_links.send_password_link(actor, employee_id, data.purpose)


CONTROLLERS = [EmailController, MailSettingsController, PasswordLinkController]
