"""HTTP for the archive across orders: the filtered, keyset-paginated listing and the billing
export of sent work reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import quote

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    Operation,
    Schema,
)
from litestar.openapi.spec.enums import OpenAPIType
from litestar.params import FromQuery, QueryParameter

from organisatrice.archive import export, listing
from organisatrice.archive.listing import ArchiveFilters, ArchiveKind, ArchivePage, ArchiveSort
from organisatrice.core.structs import MAX_ID
from organisatrice.mail.schemas import EmailStatus
from organisatrice.roles.policy import Actor, Permission

Id = Annotated[int | None, QueryParameter(ge=1, le=MAX_ID)]


@dataclass
class _FileOperation(Operation):
    """The billing export's operation: its 200 answer is either file, where Litestar would
    document the one media type a route declares."""

    def __post_init__(self) -> None:
        if self.responses is None:
            return
        ok = self.responses["200"]
        assert isinstance(ok, OpenAPIResponse)
        binary = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
        ok.content = {
            media_type: OpenAPIMediaType(schema=binary)
            for media_type in export.MEDIA_TYPES.values()
        }


class ArchiveListingController(Controller):
    path = "/api/archive"
    tags = ["Archive"]

    @get("/", opt={"needs": Permission.VIEW_ARCHIVE}, operation_id="ListArchive")
    async def list_archive(
        self,
        actor: NamedDependency[Actor],
        sent_from: Annotated[
            date | None,
            QueryParameter(name="from", description="First day sent, in your time zone"),
        ] = None,
        sent_to: Annotated[
            date | None,
            QueryParameter(name="to", description="Last day sent (included), in your time zone"),
        ] = None,
        client_id: Id = None,
        kind: FromQuery[ArchiveKind | None] = None,
        order_number: Annotated[
            str | None, QueryParameter(min_length=1, max_length=30, description="Exactly")
        ] = None,
        order_number_prefix: Annotated[
            str | None, QueryParameter(min_length=1, max_length=30, description="Starts with")
        ] = None,
        status: FromQuery[EmailStatus | None] = None,
        recipient: Annotated[
            str | None,
            QueryParameter(
                max_length=254,
                description="Part of a recipient's address, at least 3 characters, any case",
            ),
        ] = None,
        author_id: Id = None,
        unanswered_reply: Annotated[
            bool,
            QueryParameter(description="Only emails with a client's reply nobody took care of"),
        ] = False,
        sort: FromQuery[ArchiveSort] = ArchiveSort.NEWEST,
        cursor: Annotated[
            str | None,
            QueryParameter(max_length=500, description="`next_cursor` of the previous page"),
        ] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=listing.MAX_LIMIT)] = listing.DEFAULT_LIMIT,
    ) -> ArchivePage:
        """Sent emails of every order you may see, filtered and sorted, one page at a time;
        pass `next_cursor` back as `cursor` for the next page (with the same filters)."""
        filters = ArchiveFilters(
            sent_from=sent_from,
            sent_to=sent_to,
            client_id=client_id,
            kind=kind,
            order_number=order_number,
            order_number_prefix=order_number_prefix,
            status=status,
            recipient=recipient,
            author_id=author_id,
            unanswered_reply=unanswered_reply,
        )
        return await listing.list_archive(actor, filters, sort=sort, cursor=cursor, limit=limit)

    @get(
        "/billing",
        opt={"needs": Permission.EXPORT_BILLING},
        operation_id="ExportBilledWorkReports",
        operation_class=_FileOperation,
    )
    async def export_work_reports(
        self,
        actor: NamedDependency[Actor],
        sent_from: Annotated[
            date, QueryParameter(name="from", description="First day, in your time zone")
        ],
        sent_to: Annotated[
            date, QueryParameter(name="to", description="Last day (included), in your time zone")
        ],
        file_format: Annotated[
            export.ExportFormat,
            QueryParameter(
                name="format",
                description="xlsx (the default) or csv, with the delimiter of your language",
            ),
        ] = export.ExportFormat.XLSX,
    ) -> Response[bytes]:
        """The work reports sent in the period, one row each with the addresses that got it
        and its outcome, in your language; 404 `no_work_reports` when none was sent."""
        exported = await export.billing_export(actor, sent_from, sent_to, file_format)
        return Response(
            exported.data,
            media_type=exported.media_type,  # Litestar adds "; charset=utf-8" to text/csv
            headers={
                "Content-Disposition": "attachment; "
                f"filename*=UTF-8''{quote(exported.filename, safe='')}",
                "Cache-Control": "private, no-store",
                "X-Content-Type-Options": "nosniff",
            },
        )


CONTROLLERS = [ArchiveListingController]
