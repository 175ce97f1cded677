"""What a client's answer carries besides its text, served as safely as the order's own files:
its attachments, taken from the message as received and checked like an upload (type, size,
a picture re-encoded without its metadata), and its HTML, sanitised when it arrived and shown
in a sandboxed frame that runs no script and loads no remote image until the reader asks.
"""

from __future__ import annotations

import email
import email.policy
import html
from email.message import EmailMessage
from typing import Any

import nh3

from organisatrice.core.blobs import blob_store
from organisatrice.core.bounded import OverBudget, run_bounded
from organisatrice.core.codes import Code
from organisatrice.core.errors import NotFound, UnsupportedType
from organisatrice.mail.replies import reply_on_order
from organisatrice.mail.tables import ClientReply
from organisatrice.orders.documents import CheckedDocument, inspect_document
from organisatrice.orders.files import DOCUMENT_BUDGET, StoredFile
from organisatrice.orders.services import visible_order
from organisatrice.roles.policy import Actor
from organisatrice.settings import get_settings

# The frame's own rules: nothing runs, nothing is fetched but pictures written into the message
# (data:), and remote pictures only when the reader asked; no form goes anywhere; links open
# outside the frame. Only the app itself may frame it.
_FRAME_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:{remote}; form-action 'none'; "
    "base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups "
    "allow-popups-to-escape-sandbox"
)
_PAGE = (
    '<!doctype html><html><head><meta charset="utf-8"><base target="_blank">'
    "<style>body{{font:16px/1.45 system-ui,sans-serif;margin:8px;overflow-wrap:anywhere}}"
    "img{{max-width:100%;height:auto}}</style><title>{title}</title></head>"
    "<body>{body}</body></html>"
)


def frame_headers(*, images: bool) -> dict[str, str]:
    """The headers of the reply's HTML page, which replace the app's own (SecurityHeaders
    keeps headers an answer sets): framed by the app, sent to no other site as referrer."""
    return {
        "Content-Security-Policy": _FRAME_POLICY.format(remote=" http: https:" if images else ""),
        "X-Frame-Options": "SAMEORIGIN",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "private, no-store",
    }


async def _reply(actor: Actor, order_id: int, reply_id: int, *columns: str) -> dict[str, Any]:
    await visible_order(actor, order_id)
    return await reply_on_order(
        actor, order_id, reply_id, *(getattr(ClientReply, c) for c in columns)
    )


def _no_picture(tag: str, attribute: str, value: str) -> str | None:
    return None if tag == "img" and attribute == "src" else value


async def reply_page(actor: Actor, order_id: int, reply_id: int, *, images: bool) -> str:
    """The answer's sanitised HTML as a page of its own (for the sandboxed frame). Without
    `images` the pictures lose their address too: none is even asked for (the policy would
    only block it, and the browser would report each one as a violation)."""
    row = await _reply(actor, order_id, reply_id, "html", "subject")
    body = row["html"] if images else nh3.clean(row["html"], attribute_filter=_no_picture)
    return _PAGE.format(title=html.escape(row["subject"]), body=body)


def _attachment(data: bytes, index: int, max_bytes: int, max_pixels: int) -> CheckedDocument | None:
    """The `index`th attachment of the message, checked as an upload (in a bounded worker)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    parts = list(message.iter_attachments())
    if index >= len(parts):
        return None
    part = parts[index]
    content = part.get_payload(decode=True)
    return inspect_document(
        content if isinstance(content, bytes) else b"",
        str(part.get_filename() or "attachment"),
        max_bytes,
        max_pixels,
    )


async def reply_attachment(actor: Actor, order_id: int, reply_id: int, index: int) -> StoredFile:
    """An attachment of the answer, as checked as an upload would be: a file the app would not
    have taken from an employee is not handed out either."""
    row = await _reply(actor, order_id, reply_id, "blob_sha256")
    settings = get_settings()
    try:
        checked = await run_bounded(
            DOCUMENT_BUDGET,
            _attachment,
            await blob_store().read(row["blob_sha256"]),
            index,
            settings.max_document_bytes,
            settings.max_photo_pixels,
        )
    except OverBudget:
        raise UnsupportedType(
            "The attachment takes too long to check; it is not handed out.",
            code=Code.DOCUMENT_CHECK_TOO_SLOW,
        ) from None
    if checked is None:
        raise NotFound(
            f"The reply has no attachment {index + 1}.",
            code=Code.ATTACHMENT_NOT_FOUND,
            params={"index": index},
        )
    return StoredFile(
        data=checked.data, content_type=checked.content_type, filename=checked.filename
    )
