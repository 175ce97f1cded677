"""Read delivery reports: the one function that turns mail returned to a bounce address into
per-recipient events (delivered, delayed, bounced, read).

What comes back is one of:

- a delivery status notification, DSN (RFC 3464, and message/global-delivery-status of RFC 6533
  when addresses are UTF-8): per recipient an Action, a Status code and the remote server's
  diagnostic;
- a message disposition notification, MDN (RFC 8098, the read receipt);
- a bounce in a format of its own (old Exim, qmail, Exchange before 2007, Yahoo, ...), read by
  the heuristics of flufl.bounce, which tell failed addresses from delayed ones and no more;
- anything else (an out-of-office answer, spam, a person replying): kind "unknown".

Pure: bytes in, a Report out, no database, no network. It never raises on what it is given: what
cannot be read is "unknown" with no recipients, and no recipient is reported that the report does
not name, because the caller attributes events to emails by these addresses.

Choices a reader would otherwise have to guess:

- The recipient is the Original-Recipient (the address the email was sent to) when the report
  gives one, else the Final-Recipient (which may be an alias's target); the domain is lower-cased.
- "relayed" (handed on to a server that sends no reports) and "expanded" (delivered to a list or
  alias) count as delivered: they are the last word a sender will get.
- Only a "displayed" disposition is a read receipt. "deleted", "dispatched" and "processed" say
  nothing about reading, so such an MDN has kind "mdn" and no recipients, unless the bounce
  heuristics read its text as a rejection (RFC 5429: Dovecot rejects mail over quota with a
  "deleted" MDN); then it is a bounce. A DSN whose status part names nobody usable goes to the
  heuristics as well, and stays kind "dsn" with no recipients when they find nothing.
- The Original-Envelope-Id is taken as written, not xtext-decoded: the envelope IDs this product
  sends are letters and digits, which xtext leaves alone.
- Bounded work: only the first 512 KiB are read, and nothing from the seventeenth multipart or
  message part on; the bounce heuristics see the first 32 KiB (see the constants below).
"""

from __future__ import annotations

import base64
import binascii
import quopri
import re
from datetime import UTC, datetime
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import compat32
from email.utils import parsedate_to_datetime
from typing import Literal

import msgspec
from flufl.bounce import all_failures

Event = Literal["delivered", "delayed", "bounced", "read"]
Kind = Literal["dsn", "mdn", "bounce", "unknown"]


class RecipientReport(msgspec.Struct, frozen=True):
    """What a report says about one recipient.

    `status` is the enhanced status code ("5.1.1") or ""; `diagnostic` the remote server's reply
    on one line ("550 5.1.1 <anna@example.ch>: Recipient address rejected: User unknown") or "".
    """

    email: str
    event: Event
    status: str
    diagnostic: str
    remote_mta: str = ""


class Report(msgspec.Struct, frozen=True):
    """A returned report: its kind, its recipients, and what ties it to the email it is about."""

    kind: Kind
    recipients: list[RecipientReport]
    original_message_id: str | None
    envelope_id: str | None
    reporting_mta: str = ""
    arrival: datetime | None = None


# Reports put what matters first (the explanation, the status part, the returned headers); what
# follows is the returned copy of the email, whose body is not needed.
_MAX_BYTES = 512 << 10
# The email package parses nested parts recursively, in time that grows with depth times lines
# (1.8 MB nested 400 deep takes 5 s; deeper ends in RecursionError). A real report has about
# eight containers (report, related, alternative, status part, returned message and its own
# parts); the input is cut before the seventeenth, which keeps the worst case (512 KiB of empty
# lines sixteen deep) near a second.
_MAX_CONTAINERS = 16
_CONTAINER = re.compile(
    rb"^content-type:[ \t]*(?:\r?\n[ \t]+)?(?:multipart|message)/", re.IGNORECASE | re.MULTILINE
)
# flufl.bounce tries some forty patterns on every body line (9 s for 1 MB of short lines), while
# non-standard bounces name the failed addresses near the top.
_HEURISTIC_BYTES = 32 << 10
_DIAGNOSTIC_LIMIT = 1000
_FIELD_LIMIT = 255
# In a bounce's free text, a reply code this many lines below the address is taken as that
# address's reply; anything further away is not trusted. A reply spans at most _REPLY_LINES.
_REPLY_WINDOW = 8
_REPLY_LINES = 20
# Each search reads the whole text; a bounce naming more addresses than an email of this product
# has recipients gets no diagnostic for the rest.
_DIAGNOSED = 50

_DSN_TYPES = frozenset({"message/delivery-status", "message/global-delivery-status"})
_MDN_TYPES = frozenset(
    {"message/disposition-notification", "message/global-disposition-notification"}
)
# The returned email: whole, or only its headers. The email package parses all three message/*
# types as an embedded message, so its headers are the returned headers.
_RETURNED_MESSAGES = frozenset({"message/rfc822", "message/global", "message/global-headers"})
_RETURNED_HEADERS = "text/rfc822-headers"

# Some servers write "failure", some OpenSMTPD versions "error", for "failed" (flufl.bounce reads
# both the same way).
_ACTIONS: dict[str, Event] = {
    "delivered": "delivered",
    "relayed": "delivered",
    "expanded": "delivered",
    "delayed": "delayed",
    "failed": "bounced",
    "failure": "bounced",
    "error": "bounced",
}

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_WORD = re.compile(r"[a-z]+")
# "rfc822; anna@example.ch", "dns; mx.example.ch", "smtp; 550 ...", "X-Postfix; connect to ..."
_TYPED = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9.+-]*)\s*;\s*")
_ADDRESS = re.compile(r"[^\s<>]+@[^\s@<>]+")
_COMMENT = re.compile(r"\([^()]*\)")
# The word a line of a bounce's text starts with: an address where a new entry begins.
_ENTRY = re.compile(r"[ \t<]*([^\s<>:;,()]+)")
# RFC 6533 escapes characters of a utf-8 address type as \x{HEX}.
_UNITEXT_ESCAPE = re.compile(r"\\x\{([0-9A-Fa-f]{1,6})\}")
_STATUS = re.compile(r"\b[245]\.\d{1,3}\.\d{1,3}\b")
# A reply code at the start of a line or after a colon or semicolon ("host mx said: 550 5.1.1
# ...", "smtp;550 5.1.10 ..."), never inside a number, an address or a port.
_REPLY = re.compile(
    r"(?:^\s*|[:;]\s*)(?P<code>[45]\d\d)(?P<sep>[ -])(?:(?P<status>[245]\.\d{1,3}\.\d{1,3})\b)?"
)
# The first line of a multi-line reply: "550-5.1.1 The email account ...".
_MULTILINE_REPLY = re.compile(r"(?P<code>[45]\d\d)-(?:(?P<status>[245]\.\d{1,3}\.\d{1,3}) )?")
_MESSAGE_ID = re.compile(r"<([^<>\s]+)>|^\s*([^<>\s]+@[^<>\s]+)\s*$")
_QUOTED_MESSAGE_ID = re.compile(r"\s*message-id:\s*(<[^<>\s]+>)", re.IGNORECASE)


def parse_report(data: bytes) -> Report:
    """What the returned mail `data` reports, per recipient; kind "unknown" when it is no report."""
    bounded = _bounded(data)
    message = _parse(bounded)
    if message is None:
        return _unknown()
    parts = _report_parts(message)
    lines = _human_lines(parts)
    for part in parts:
        content_type = part.get_content_type()
        if content_type in _DSN_TYPES or content_type in _MDN_TYPES:
            report = (
                _dsn(part, parts, lines) if content_type in _DSN_TYPES else _mdn(part, parts, lines)
            )
            if report.recipients:
                return report
            # A status part that names nobody usable is broken; an MDN that is no read receipt may
            # be a rejection (RFC 5429: Dovecot's quota and Sieve rejects say "deleted" and explain
            # in the text). The heuristics read the text; a person's "deleted unread" notice gives
            # them nothing. What the report says about the email itself still holds.
            failures = _failures(message, bounded, lines)
            return (
                msgspec.structs.replace(report, kind="bounce", recipients=failures)
                if failures
                else report
            )
    failures = _failures(message, bounded, lines)
    if not failures:
        return _unknown()
    return Report(
        kind="bounce",
        recipients=failures,
        original_message_id=_original_message_id({}, parts, lines),
        envelope_id=None,
    )


def _unknown() -> Report:
    return Report(kind="unknown", recipients=[], original_message_id=None, envelope_id=None)


def _bounded(data: bytes) -> bytes:
    data = data[:_MAX_BYTES]
    for count, container in enumerate(_CONTAINER.finditer(data), start=1):
        if count > _MAX_CONTAINERS:
            return data[: container.start()]
    return data


def _parse(data: bytes) -> Message | None:
    # compat32, not policy.default: it keeps each header value as its source text (raw_items),
    # which the field parser below reads itself, and it is the Message flufl.bounce expects.
    try:
        return BytesParser(policy=compat32).parsebytes(data)
    except Exception:
        # The email package records most damage as defects, but has raised on odd input before
        # (RecursionError, errors in its header parsing); what it cannot parse is no report.
        return None


def _report_parts(message: Message) -> list[Message]:
    """The message and its parts in order, without the inside of the messages it carries: a
    returned or forwarded email is not part of the report."""
    parts: list[Message] = []
    pending = [message]
    while pending:
        part = pending.pop()
        parts.append(part)
        if part.get_content_maintype() == "multipart":
            pending.extend(reversed(_subparts(part)))
    return parts


def _subparts(part: Message) -> list[Message]:
    """The parts or messages inside `part`; none for a leaf, whose get_payload() would decode
    the text by its declared charset (and raise on a charset such as "\\x00")."""
    if not part.is_multipart():
        return []
    return [item for item in part.get_payload() if isinstance(item, Message)]


def _human_lines(parts: list[Message]) -> list[str]:
    """The lines of the report's plain-text parts: the explanation written for people."""
    lines: list[str] = []
    for part in parts:
        if part.get_content_type() == "text/plain":
            lines.extend(_decoded_text(part).splitlines())
    return lines


def _decoded_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    try:
        return payload.decode(part.get_content_charset() or "utf-8", "replace")
    except (LookupError, ValueError):
        # An unknown charset, or a codec that is not one ("unknown-8bit", "base64").
        return payload.decode("utf-8", "replace")


def _dsn(part: Message, parts: list[Message], lines: list[str]) -> Report:
    blocks = _field_blocks(part)
    # The first block holds the per-message fields; each further one names a recipient. Some
    # servers leave out the blank line between them, so any block naming a recipient counts.
    about = blocks[0] if blocks else {}
    recipients: list[RecipientReport] = []
    seen: set[RecipientReport] = set()
    for fields in blocks:
        email = _recipient(fields)
        action = _WORD.match(fields.get("action", "").strip().lower())
        event = _ACTIONS.get(action.group()) if action else None
        if email is None or event is None:
            continue
        diagnostic = _diagnostic(_untyped(fields.get("diagnostic-code", "")))
        recipient = RecipientReport(
            email=email,
            event=event,
            status=_dsn_status(fields.get("status", ""), diagnostic),
            diagnostic=diagnostic,
            remote_mta=_mta(fields.get("remote-mta", "")),
        )
        # Some servers repeat a recipient's block word for word.
        if recipient not in seen:
            seen.add(recipient)
            recipients.append(recipient)
    return Report(
        kind="dsn",
        recipients=recipients,
        original_message_id=_original_message_id(about, parts, lines),
        envelope_id=_identifier(about.get("original-envelope-id", "")),
        reporting_mta=_mta(about.get("reporting-mta", "")),
        arrival=_date(about.get("arrival-date", "")),
    )


def _mdn(part: Message, parts: list[Message], lines: list[str]) -> Report:
    # One block by the RFC; merged in case a client wrote blank lines into it.
    fields = {
        name: value for block in reversed(_field_blocks(part)) for name, value in block.items()
    }
    email = _recipient(fields)
    # "manual-action/MDN-sent-manually; displayed": the disposition type follows the semicolon,
    # and RFC 2298 let modifiers follow it ("displayed/warning").
    disposition = fields.get("disposition", "").rpartition(";")[2].split("/")[0].strip().lower()
    recipients = (
        [RecipientReport(email=email, event="read", status="", diagnostic="")]
        if email is not None and disposition == "displayed"
        else []
    )
    return Report(
        kind="mdn",
        recipients=recipients,
        original_message_id=_original_message_id(fields, parts, lines),
        envelope_id=None,
    )


def _failures(message: Message, data: bytes, lines: list[str]) -> list[RecipientReport]:
    """The failed and delayed addresses flufl.bounce finds in `message` (parsed from `data`), with
    the reply the bounce's text gives for each."""
    if len(data) > _HEURISTIC_BYTES:
        message = _parse(data[:_HEURISTIC_BYTES]) or message
    try:
        temporary, permanent = all_failures(message)
    except Exception:
        # Its detectors are heuristics over any text, and some raise on odd input (the Yale
        # detector on a message without From); for this module that means no bounce found.
        return []
    found: list[tuple[bytes, Event]] = [
        *((address, "bounced") for address in sorted(permanent)),
        *((address, "delayed") for address in sorted(temporary)),
    ]
    events: dict[str, Event] = {}
    for address, event in found:
        email = _address(address.decode("ascii", "replace"))
        if email is not None:
            # A permanent failure wins over a temporary one for the same address.
            events.setdefault(email, event)
    lowered = [line.lower() for line in lines] if events else []
    named = {email.lower() for email in events}
    recipients: list[RecipientReport] = []
    for count, (email, event) in enumerate(events.items()):
        diagnostic = (
            _diagnostic_near(lowered, lines, email, named - {email.lower()})
            if count < _DIAGNOSED
            else ""
        )
        reply = _REPLY.match(diagnostic)
        status = (reply["status"] or "") if reply else ""
        recipients.append(
            RecipientReport(email=email, event=event, status=status, diagnostic=diagnostic)
        )
    return recipients


def _field_blocks(part: Message) -> list[dict[str, str]]:
    """The blocks of "Name: value" fields of a status or disposition part.

    The email package splits message/delivery-status into one Message per block, but parses
    message/global-delivery-status and the disposition parts as an embedded email (first block as
    its headers, the rest as its body), under every policy. Both are put back together from
    their source text here and read by one parser, so the two report types read alike.
    """
    if part.is_multipart():
        raw = b"\n".join(_source(block) for block in _subparts(part))
        raw = _decode_transfer(raw, _header(part, "content-transfer-encoding").strip().lower())
    else:
        decoded = part.get_payload(decode=True)
        raw = decoded if isinstance(decoded, bytes) else b""
    return _blocks(raw.decode("utf-8", "replace"))


def _source(message: Message) -> bytes:
    """A parsed message's header lines and body as they came."""
    head = "".join(f"{name}: {value}\n" for name, value in message.raw_items())
    body = message.get_payload(decode=True)
    return _raw_bytes(head) + b"\n" + (body if isinstance(body, bytes) else b"")


def _raw_bytes(text: str) -> bytes:
    # The parser read the bytes as ASCII with surrogate escapes; this gives the bytes back.
    return text.encode("utf-8", "surrogateescape")


def _decode_transfer(raw: bytes, encoding: str) -> bytes:
    # RFC 6533 lets the UTF-8 report parts travel base64 or quoted-printable encoded.
    if encoding == "base64":
        try:
            return base64.b64decode(raw)
        except binascii.Error:
            return raw
    if encoding == "quoted-printable":
        return quopri.decodestring(raw)
    return raw


def _blocks(text: str) -> list[dict[str, str]]:
    """Blocks of fields separated by blank lines; names lower-cased, folded lines joined, the
    first of a repeated field kept."""
    blocks: list[dict[str, list[str]]] = []
    fields: dict[str, list[str]] = {}
    current: list[str] | None = None
    for line in _LINE_BREAK.split(text):
        if not line.strip():
            if fields:
                blocks.append(fields)
                fields = {}
            current = None
        elif line[0] in " \t":
            if current is not None:
                current.append(line)
        else:
            name, colon, value = line.partition(":")
            name = name.strip().lower()
            current = (
                fields.setdefault(name, [value]) if colon and name and name not in fields else None
            )
    if fields:
        blocks.append(fields)
    return [{name: " ".join(value) for name, value in block.items()} for block in blocks]


def _header(message: Message, name: str) -> str:
    """The first `name` header of `message` as its source text, or ""."""
    for key, value in message.raw_items():
        if key.lower() == name:
            return _raw_bytes(value).decode("utf-8", "replace")
    return ""


def _untyped(value: str) -> str:
    """The value without its type: "dns; mx.example.ch" is "mx.example.ch"."""
    typed = _TYPED.match(value)
    return value[typed.end() :] if typed else value


def _mta(value: str) -> str:
    """The host name in "dns; gmail-smtp-in.l.google.com. (2a00:1450::1a, the server for ...)"."""
    return _one_line(_COMMENT.sub(" ", _untyped(value)))[:_FIELD_LIMIT].rstrip(".")


def _recipient(fields: dict[str, str]) -> str | None:
    return _address(fields.get("original-recipient", "")) or _address(
        fields.get("final-recipient", "")
    )


def _address(value: str) -> str | None:
    """The address in "rfc822; Anna@Example.CH" as "Anna@example.ch", or None unless it looks
    like one (the events are matched to emails by it)."""
    typed = _TYPED.match(value)
    address = value[typed.end() :] if typed else value
    if typed and typed.group(1).lower() == "utf-8":
        address = _UNITEXT_ESCAPE.sub(_unescape, address)
    address = address.strip().strip("<>")
    if len(address) > 320 or not address.isprintable() or not _ADDRESS.fullmatch(address):
        return None
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def _unescape(escape: re.Match[str]) -> str:
    code = int(escape.group(1), 16)
    if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return escape.group()
    return chr(code)


def _one_line(value: str) -> str:
    """Folding and runs of white space made single spaces."""
    return " ".join(value.split())


def _diagnostic(text: str) -> str:
    """The server's reply on one line. A multi-line reply ("550-5.1.1 The email account ...
    550-5.1.1 double-checking ... 550 5.1.1 ...") is one reply: its code is said once."""
    text = _one_line(text)
    first = _MULTILINE_REPLY.match(text)
    if first:
        code, status = first["code"], first["status"]
        lead = f"{code} {status} " if status else f"{code} "
        repeated = f" {code}[ -]" + (re.escape(status) + " " if status else "")
        text = lead + re.sub(repeated, " ", text[first.end() :])
    return text[:_DIAGNOSTIC_LIMIT]


def _dsn_status(value: str, diagnostic: str) -> str:
    found = _STATUS.search(value)
    status = found.group() if found else ""
    # Exim writes 5.0.0 for every failure; the remote server's own code, in the diagnostic, says
    # which (5.1.1: no such mailbox).
    reply = _REPLY.match(diagnostic)
    if status.endswith(".0.0") and reply and reply["status"] and reply["status"][0] == status[0]:
        return reply["status"]
    return status


def _diagnostic_near(lowered: list[str], lines: list[str], email: str, others: set[str]) -> str:
    """The SMTP reply a bounce's free text (`lines`, and `lowered` the same lower-cased) gives
    for `email`, or "".

    Taken only from the few lines after the address is named, and not past a line that starts
    with another failed address (one of `others`): that is the next entry, whose reply a missing
    one must not borrow.
    """
    needle = email.lower()
    for index, line in enumerate(lowered):
        if needle not in line:
            continue
        for start in range(index, min(index + _REPLY_WINDOW, len(lines))):
            entry = _ENTRY.match(lowered[start])
            if start > index and entry and entry.group(1).rstrip(".") in others:
                break
            reply = _REPLY.search(lines[start])
            if reply is not None:
                return _diagnostic(" ".join(_reply_lines(lines, start, reply)))
    return ""


def _reply_lines(lines: list[str], start: int, reply: re.Match[str]) -> list[str]:
    """The reply found on line `start` with the lines that continue it: folded ones, indented
    further (Postfix), and those of a multi-line reply, repeating its code (Exim)."""
    first = lines[start]
    found = [first[reply.start("code") :]]
    indent = len(first) - len(first.lstrip())
    for following in lines[start + 1 : start + _REPLY_LINES]:
        text = following.lstrip()
        folded = len(following) - len(text) > indent
        repeated = reply["sep"] == "-" and text[:3] == reply["code"]
        if not text or not (folded or repeated):
            break
        found.append(text)
    return found


def _original_message_id(
    fields: dict[str, str], parts: list[Message], lines: list[str]
) -> str | None:
    """The Message-ID of the email reported on: from the report's own field (MDNs; Gmail writes
    X-Original-Message-ID into DSNs), the returned headers, or a header line quoted in the text
    (old bounces append the email to their explanation)."""
    return (
        _message_id(fields.get("original-message-id", ""))
        or _message_id(fields.get("x-original-message-id", ""))
        or _returned_message_id(parts)
        or _quoted_message_id(lines)
    )


def _returned_message_id(parts: list[Message]) -> str | None:
    for part in parts:
        content_type = part.get_content_type()
        headers: Message | None = None
        if content_type == _RETURNED_HEADERS:
            decoded = part.get_payload(decode=True)
            if isinstance(decoded, bytes):
                headers = BytesHeaderParser(policy=compat32).parsebytes(decoded)
        elif content_type in _RETURNED_MESSAGES and (inner := _subparts(part)):
            headers = inner[0]
        if headers is not None and (found := _message_id(_header(headers, "message-id"))):
            return found
    return None


def _quoted_message_id(lines: list[str]) -> str | None:
    for line in lines:
        quoted = _QUOTED_MESSAGE_ID.match(line)
        if quoted:
            return _message_id(quoted.group(1))
    return None


def _message_id(value: str) -> str | None:
    """The id in angle brackets; a bare "id@host" (written by some clients) gets them."""
    found = _MESSAGE_ID.search(value)
    if found is None:
        return None
    message_id = f"<{found.group(1) or found.group(2)}>"
    return message_id if len(message_id) <= _FIELD_LIMIT else None


def _identifier(value: str) -> str | None:
    # Cut short, an identifier would match nothing or the wrong email; too long, it is none of ours.
    cleaned = _one_line(value)
    return cleaned if 0 < len(cleaned) <= _FIELD_LIMIT else None


def _date(value: str) -> datetime | None:
    try:
        parsed = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # "-0000" means UTC with the sender's zone unknown (RFC 5322); the parser leaves it naive.
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
