"""HTTP for the archive: an entry as sent, its raw bytes and attachments, notes, an order's
history and hand-overs, retention. No route changes an archived email."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter
from litestar.types import ControllerRouterHandler

from organisatrice.archive import entries, history, integrity, notifications
from organisatrice.archive.notifications import NotificationOut, RelayNoticeOut
from organisatrice.archive.schemas import (
    ArchiveEntryOut,
    ConversationEntryOut,
    HandoverIn,
    HandoverOut,
    NoteIn,
    NoteOut,
    OrderHistoryOut,
    RetentionIn,
    RetentionPreviewOut,
    WorkReportStateOut,
)
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.core.http import PathId, file_response
from organisatrice.core.structs import DbId
from organisatrice.mail import replies, reply_files
from organisatrice.mail.replies import ReplyOut
from organisatrice.mail.reply_files import frame_headers
from organisatrice.roles.policy import Actor, Permission

_VIEW = {"needs": Permission.VIEW_ARCHIVE}
_MANAGE = {"needs": Permission.MANAGE_ARCHIVE}


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise Invalid(
            "Give the date with its time zone, e.g. 2025-01-01T00:00:00+01:00.",
            code=Code.TIME_ZONE_MISSING,
        )
    try:
        # The database compares in UTC; 0001-01-01 with a positive offset is before year 1 there.
        value.astimezone(UTC)
    except OverflowError:
        raise Invalid(
            "The date is out of range; give one after the year 1.", code=Code.DATE_OUT_OF_RANGE
        ) from None
    return value


class ArchiveEntryController(Controller):
    path = "/api/archive"
    tags = ["Archive"]

    @get("/{email_id:int}", opt=_VIEW, operation_id="GetArchivedEmail")
    async def get_entry(self, email_id: PathId, actor: NamedDependency[Actor]) -> ArchiveEntryOut:
        """The email exactly as sent, with recipients' statuses, history and notes."""
        return await entries.entry(actor, email_id)

    @get(
        "/{email_id:int}/raw",
        opt=_VIEW,
        operation_id="DownloadArchivedEmail",
        media_type="message/rfc822",
    )
    async def raw(self, email_id: PathId, actor: NamedDependency[Actor]) -> Response[bytes]:
        """The .eml file: the bytes the relay received."""
        stored = await entries.raw_message(actor, email_id)
        return file_response(stored.data, "message/rfc822", f"{stored.filename}.eml")

    @get(
        "/{email_id:int}/attachments/{index:int}",
        opt=_VIEW,
        operation_id="DownloadArchivedAttachment",
        media_type="application/octet-stream",
    )
    async def attachment(
        self,
        email_id: PathId,
        index: Annotated[int, PathParameter(ge=0, le=1000)],
        actor: NamedDependency[Actor],
    ) -> Response[bytes]:
        """One attachment as sent, under its original name."""
        stored = await entries.attachment(actor, email_id, index)
        return file_response(stored.data, stored.content_type, stored.filename)

    @post(
        "/{email_id:int}/notes",
        opt={"needs": Permission.ANNOTATE_ARCHIVE},
        operation_id="AddArchiveNote",
    )
    async def add_note(
        self, email_id: PathId, actor: NamedDependency[Actor], data: JSONBody[NoteIn]
    ) -> NoteOut:
        """Add an internal note; notes are never sent and never edited."""
        return await entries.add_note(actor, email_id, data.text)

    @get("/retention", opt=_MANAGE, operation_id="PreviewArchiveRetention")
    async def retention_preview(
        self, actor: NamedDependency[Actor], older_than: FromQuery[datetime]
    ) -> RetentionPreviewOut:
        """How many archived emails are older than the date: the number to confirm."""
        return await integrity.retention_preview(actor, _aware(older_than))

    @post("/retention", opt=_MANAGE, operation_id="DeleteOldArchivedEmails", status_code=200)
    async def delete_old(
        self, actor: NamedDependency[Actor], data: JSONBody[RetentionIn]
    ) -> RetentionPreviewOut:
        """Delete archived emails older than the date, if their number is the confirmed one;
        recorded, and the chain stays verifiable."""
        return await integrity.delete_older(actor, _aware(data.older_than), data.confirm_count)


@get(
    "/api/orders/work-reports",
    opt=_VIEW,
    operation_id="ListWorkReportStates",
    tags=["Archive"],
)
async def list_work_report_states(
    actor: NamedDependency[Actor],
    order_id: Annotated[list[DbId], QueryParameter(max_items=history.MAX_ORDERS, min_items=1)],
) -> list[WorkReportStateOut]:
    """For the order list: the state of each order's newest work report (sent, delivered,
    bounced…); orders without one are left out."""
    return await history.work_report_states(actor, order_id)


class OrderHistoryController(Controller):
    path = "/api/orders/{order_id:int}"
    tags = ["Archive"]

    @get("/history", opt=_VIEW, operation_id="GetOrderHistory")
    async def get_history(self, order_id: PathId, actor: NamedDependency[Actor]) -> OrderHistoryOut:
        """The order's emails and hand-overs, whether one failed, and the work report sent."""
        return await history.order_history(actor, order_id)

    @get("/conversation", opt=_VIEW, operation_id="GetOrderConversation")
    async def get_conversation(
        self, order_id: PathId, actor: NamedDependency[Actor]
    ) -> list[ConversationEntryOut]:
        """Emails sent, clients' replies, hand-overs and internal notes, oldest first."""
        return await history.conversation(actor, order_id)

    @get("/replies", opt=_VIEW, operation_id="ListOrderReplies")
    async def list_replies(self, order_id: PathId, actor: NamedDependency[Actor]) -> list[ReplyOut]:
        """What clients answered to the order's emails, each with the quoted history apart."""
        return await replies.order_replies(actor, order_id)

    @post(
        "/replies/{reply_id:int}/handled",
        opt={"needs": Permission.ANNOTATE_ARCHIVE},
        operation_id="MarkReplyHandled",
        status_code=200,
    )
    async def mark_reply_handled(
        self, order_id: PathId, reply_id: PathId, actor: NamedDependency[Actor]
    ) -> ReplyOut:
        """Someone took care of the answer: it leaves everyone's notifications."""
        return await replies.mark_handled(actor, order_id, reply_id)

    @post("/handovers", opt={"needs": Permission.ANNOTATE_ARCHIVE}, operation_id="RecordHandover")
    async def record_handover(
        self, order_id: PathId, actor: NamedDependency[Actor], data: JSONBody[HandoverIn]
    ) -> HandoverOut:
        """Record a document handed over or posted on paper."""
        return await history.record_handover(actor, order_id, data)

    @get(
        "/replies/{reply_id:int}/html",
        opt=_VIEW,
        operation_id="GetReplyHtml",
        media_type="text/html",
    )
    async def reply_html(
        self,
        order_id: PathId,
        reply_id: PathId,
        actor: NamedDependency[Actor],
        images: FromQuery[bool] = False,
    ) -> Response[str]:
        """The answer's sanitised HTML, for a sandboxed frame: no script runs, and remote
        pictures load only with `images`."""
        page = await reply_files.reply_page(actor, order_id, reply_id, images=images)
        return Response(page, media_type="text/html", headers=frame_headers(images=images))

    @get(
        "/replies/{reply_id:int}/attachments/{index:int}",
        opt=_VIEW,
        operation_id="DownloadReplyAttachment",
        media_type="application/octet-stream",
    )
    async def reply_attachment(
        self,
        order_id: PathId,
        reply_id: PathId,
        index: Annotated[int, PathParameter(ge=0, le=1000)],
        actor: NamedDependency[Actor],
    ) -> Response[bytes]:
        """An attachment of the answer, checked as an upload is (type, size, metadata)."""
        stored = await reply_files.reply_attachment(actor, order_id, reply_id, index)
        return file_response(stored.data, stored.content_type, stored.filename)


@get(
    "/api/notifications",
    opt={"needs": Permission.SIGNED_IN},
    operation_id="ListNotifications",
    tags=["Archive"],
)
async def list_notifications(actor: NamedDependency[Actor]) -> list[NotificationOut]:
    """Failed or bounced emails: the signed-in employee's own; back-office sees all."""
    return await notifications.notifications(actor)


@get(
    "/api/notifications/replies",
    opt={"needs": Permission.SIGNED_IN},
    operation_id="ListReplyNotifications",
    tags=["Archive"],
)
async def list_reply_notifications(actor: NamedDependency[Actor]) -> list[ReplyOut]:
    """Clients' answers waiting for someone: to my emails, on my orders, and (coordinators)
    to work reports; back-office sees the company's."""
    return await notifications.reply_notices(actor)


@get(
    "/api/notifications/relay",
    opt={"needs": Permission.SIGNED_IN},
    operation_id="ListRelayNotices",
    tags=["Archive"],
)
async def list_relay_notices(actor: NamedDependency[Actor]) -> list[RelayNoticeOut]:
    """For back-office: the relay cannot get an OAuth 2.0 token, so nothing goes out."""
    return await notifications.relay_notices(actor)


CONTROLLERS: list[ControllerRouterHandler] = [
    ArchiveEntryController,
    OrderHistoryController,
    list_work_report_states,
    list_notifications,
    list_reply_notifications,
    list_relay_notices,
]
