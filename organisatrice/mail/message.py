"""Build an email's bytes: the one function that turns a MessageSpec into a MIME message.

Pure: no network, no database, no host name; the caller gives the date and the Message-ID
domain. The bytes it returns are what gets archived and, unchanged, what the relay
receives, so every header value is checked here, before anything is built.

The Subject is folded here, not by the email package, whose folding adds or drops a space
beside encoded words ("8050  Zürich") and may fold right after "Subject:"; `_ExactSubject`
writes it so that its decoded value is exactly the subject given.

Shape: multipart/mixed (only when there are attachments) holding multipart/alternative with the
plain text and the HTML, the HTML inside multipart/related when inline images (the logo) go
with it, then the attachments. Bodies are quoted-printable and attachments base64, so the bytes
are 7-bit clean and need no 8BITMIME from the relay.
"""

from __future__ import annotations

import base64
import email.policy
import math
import re
import secrets
from datetime import datetime
from email import headerregistry
from email.message import EmailMessage, MIMEPart
from email.parser import BytesHeaderParser
from email.utils import format_datetime, make_msgid

import css_inline
import msgspec

from organisatrice.core.addresses import valid_address
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, TooLarge

# RFC 2047, section 2: an encoded word is at most 75 characters, a line holding one at most 76
# (RFC 5322's 78 leaves room for that).
_LINE = 76
_LONGEST_ENCODED_WORD = 75
# Q encoding writes these bytes as they are (RFC 2047, 5 (3)), a space as "_", others as "=XX".
_Q_LITERAL = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!*+-/")
# A run of spaces wider than this goes inside an encoded word, where it can be split, so that a
# fold never leaves a line of blanks; a plain word longer than this is encoded for the same
# reason. Both fit on one line after "Subject: ".
_WIDEST_GAP = 8
_LONGEST_PLAIN = 58


def _q_encoded(text: str) -> str:
    return "".join(
        chr(b) if b in _Q_LITERAL else "_" if b == 0x20 else f"={b:02X}" for b in text.encode()
    )


def _encoded_word(text: str) -> str:
    """`text` as one RFC 2047 encoded word, Q or B, whichever is shorter."""
    q = _q_encoded(text)
    if len(q) <= 4 * math.ceil(len(text.encode()) / 3):
        return f"=?utf-8?q?{q}?="
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def _subject_tokens(subject: str) -> list[tuple[str, str, bool]]:
    """The subject as (spaces before, text, encode) tokens: each plain word alone, and each run
    of words that must be encoded together with the spaces between them, so that those spaces
    travel inside encoded words (where decoders keep them) and the spaces between a plain token
    and its neighbours stay plain (where decoders keep them too). Whitespace at either end, and
    wide gaps, can only travel inside encoded words."""
    parts = re.split("( +)", subject)
    words, gaps = parts[0::2], parts[1::2]
    encode = [not w.isascii() or len(w) > _LONGEST_PLAIN for w in words]
    for i, gap in enumerate(gaps):
        at_an_end = (i == 0 and not words[0]) or (i == len(gaps) - 1 and not words[-1])
        if at_an_end or len(gap) > _WIDEST_GAP:
            encode[i] = encode[i + 1] = True
    tokens: list[tuple[str, str, bool]] = []
    for i, word in enumerate(words):
        gap = gaps[i - 1] if i else ""
        if i and encode[i] and encode[i - 1]:
            before, text, _ = tokens[-1]
            tokens[-1] = (before, text + gap + word, True)
        else:
            tokens.append((gap, word, encode[i]))
    return tokens


def _fold_subject(subject: str, *, used: int) -> list[str]:
    """The subject's header lines, the first after `used` characters ("Subject: "), each line
    after it starting with the space it folds at. Folds only where the subject has a space or
    between two encoded words, so that unfolding (RFC 5322, 2.2.3) and decoding (RFC 2047, 6.2)
    give back `subject` exactly; never folds before the first word."""
    lines = [""]
    widths = [_LINE - used]

    def room(separator: str) -> int:
        return widths[-1] - len(lines[-1]) - len(separator)

    def wrap() -> None:
        lines.append("")
        widths.append(_LINE)

    for gap, text, encode in _subject_tokens(subject):
        if not encode:
            if lines[-1] and len(gap) + len(text) > room(""):
                wrap()
            lines[-1] += gap + text
            continue
        separator = gap
        while text:
            piece = _fitting(text, room(separator), whole_words=bool(lines[-1]))
            if not piece:
                wrap()
                continue
            lines[-1] += separator + _encoded_word(piece)
            text = text[len(piece) :]
            # Between two encoded words a space only separates them: decoders drop it.
            separator = " "
    return lines


def _fitting(text: str, room: int, *, whole_words: bool) -> str:
    """The longest start of `text` whose encoded word fits in `room`, ending after a space or at
    the end; with `whole_words` off, any fitting start when no whole word fits. "" when none."""
    limit = min(room, _LONGEST_ENCODED_WORD)
    fits = whole = 0
    # An encoded word grows with the text it holds, so the first that is too long ends the search.
    for n in range(1, len(text) + 1):
        if len(_encoded_word(text[:n])) > limit:
            break
        fits = n
        if n == len(text) or text[n - 1] == " ":
            whole = n
    return text[: whole or (0 if whole_words else fits)]


# HeaderRegistry combines these two classes itself; typeshed types max_count apart in them.
class _ExactSubject(headerregistry.UniqueUnstructuredHeader, headerregistry.BaseHeader):  # type: ignore[misc]
    """The Subject header, written by `_fold_subject` instead of the email package's folding."""

    def fold(self, *, policy: email.policy.Policy) -> str:
        lines = _fold_subject(str(self), used=len(self.name) + 2)
        return f"{self.name}: " + policy.linesep.join(lines) + policy.linesep


_HEADERS = headerregistry.HeaderRegistry()
_HEADERS.map_to_type("subject", _ExactSubject)
_POLICY = email.policy.SMTP.clone(header_factory=_HEADERS)

# The <style> block stays for clients that read it (media queries); the inlined attributes are
# for those that drop it (Gmail apps, Outlook). Nothing is ever fetched: with loading on, a
# <link> in a template would read a local file or a URL into the email.
_INLINER = css_inline.CSSInliner(keep_style_tags=True, load_remote_stylesheets=False)

# C0 controls, DEL, C1 controls (U+0085 among them), the Unicode line and paragraph separators,
# and lone surrogates (which cannot be encoded at all).
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
_LINE_BREAKS = frozenset("\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
_CHARACTER_NAMES = {"\t": "a tab", "\x00": "a null character"}
# Python's email package decodes RFC 2047 encoded words in values it is given, then writes the
# decoded text out raw: a subject "=?utf-8?q?x=0D=0ABcc:_evil?=" becomes a Bcc header.
_ENCODED_WORD = re.compile(r"=\?.*\?=")
# RFC 5322 field names: printable ASCII without the colon.
_HEADER_NAME = re.compile(r"[!-9;-~]+")
# RFC 6838 type and subtype names, no parameters.
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")
# RFC 2392: a Content-ID is an addr-spec, so it names a domain, as a Message-ID does.
_CONTENT_ID = re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+")
# Headers this module writes or that belong to the envelope; an extra header may not set them.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "sender",
        "reply-to",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "return-path",
    }
)


class Address(msgspec.Struct, frozen=True):
    """A mailbox: the address and an optional display name ("Anna Meier")."""

    email: str
    name: str = ""


class Attachment(msgspec.Struct, frozen=True):
    """A file sent with the email; `filename` is shown to the recipient as it is."""

    filename: str
    content_type: str
    data: bytes


class InlineImage(msgspec.Struct, frozen=True):
    """An image the HTML shows by `cid:` reference (the company logo), not listed as a file."""

    cid: str
    content_type: str
    data: bytes


class MessageSpec(msgspec.Struct, frozen=True, kw_only=True):
    """Everything an email is made of; `html` is a whole document with its own <style> block."""

    sender: Address
    reply_to: Address | None
    to: list[Address]
    cc: list[Address]
    bcc: list[Address]
    subject: str
    text: str
    html: str
    attachments: list[Attachment]
    inline_images: list[InlineImage]
    message_id_domain: str
    date: datetime
    # Extra headers such as Disposition-Notification-To (a read receipt request).
    headers: dict[str, str] = {}


class BuiltMessage(msgspec.Struct, frozen=True, kw_only=True):
    """The bytes to archive and send, their Message-ID, and who gets them (Bcc included)."""

    data: bytes
    message_id: str
    envelope_recipients: list[str]
    size: int


def build_message(spec: MessageSpec) -> BuiltMessage:
    """The email `spec` describes, as CRLF bytes ready for SMTP.

    Raises Invalid, naming the field, for an address that is not valid, a header value with a
    line break or another control character, or an email without recipients.
    """
    if spec.date.utcoffset() is None:
        raise ValueError("MessageSpec.date must carry a time zone")
    sender = _mailbox(spec.sender, "The sender's address", "sender")
    reply_to = (
        None
        if spec.reply_to is None
        else _mailbox(spec.reply_to, "The reply-to address", "reply_to")
    )
    to = [_mailbox(a, f"To address {i + 1}", f"to[{i}]") for i, a in enumerate(spec.to)]
    cc = [_mailbox(a, f"Cc address {i + 1}", f"cc[{i}]") for i, a in enumerate(spec.cc)]
    bcc = [_mailbox(a, f"Bcc address {i + 1}", f"bcc[{i}]") for i, a in enumerate(spec.bcc)]
    if not (to or cc or bcc):
        raise Invalid(
            "The email has no recipient; add at least one.", code=Code.NO_RECIPIENT, field="to"
        )
    refuse_unsafe_header(spec.subject, "The subject", "subject")
    domain = _message_id_domain(spec.message_id_domain)
    _check_extra_headers(spec.headers)
    _check_attachments(spec.attachments)
    _check_inline_images(spec.inline_images)

    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    if reply_to is not None:
        message["Reply-To"] = reply_to
    if to:
        message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = spec.subject
    message["Date"] = format_datetime(spec.date)
    message_id = make_msgid(domain=domain)
    message["Message-ID"] = message_id
    for name, value in spec.headers.items():
        message[name] = value
    message["MIME-Version"] = "1.0"
    _fill_body(message, spec)

    data = message.as_bytes()
    _verify_headers(data, list(message.keys()))
    recipients = list(dict.fromkeys(a.addr_spec for a in (*to, *cc, *bcc)))
    return BuiltMessage(
        data=data, message_id=message_id, envelope_recipients=recipients, size=len(data)
    )


def encoded_size(raw_size: int) -> int:
    """Bytes an attachment of `raw_size` bytes takes in the message: base64 turns each 57 bytes
    into a 76-character line plus CRLF, about 37 % more. For fitting photos into a budget."""
    return 4 * math.ceil(raw_size / 3) + 2 * math.ceil(raw_size / 57)


def check_budget(built: BuiltMessage, budget: int) -> None:
    """Refuse an email larger than `budget` bytes with a message that says what to remove."""
    if built.size <= budget:
        return
    raise TooLarge(
        f"The email is {_megabytes(built.size)} MB, {_megabytes(built.size - budget)} MB over "
        f"the {_megabytes(budget)} MB limit; remove photos or attachments.",
        code=Code.EMAIL_TOO_LARGE,
        params={
            "size_mb": _megabytes(built.size),
            "over_mb": _megabytes(built.size - budget),
            "max_mb": _megabytes(budget),
        },
        field="attachments",
    )


def _megabytes(size: int) -> str:
    # Rounded up, so an email just over the limit never reads "0 MB over".
    return f"{math.ceil(size / 100_000) / 10:g}"


def refuse_unsafe_header(value: str, what: str, field: str) -> None:
    """Refuse a header value that could end its header or smuggle in another one."""
    found = _UNSAFE.search(value)
    if found:
        char = found.group()
        kind = (
            "a line break"
            if char in _LINE_BREAKS
            else _CHARACTER_NAMES.get(char, f"a control character (U+{ord(char):04X})")
        )
        raise Invalid(f"{what} contains {kind}; remove it.", code=Code.UNSAFE_HEADER, field=field)
    if _ENCODED_WORD.search(value):
        raise Invalid(
            f'{what} contains "=?" followed by "?=", which mail programs decode as hidden '
            "text; remove it.",
            code=Code.UNSAFE_HEADER,
            field=field,
        )


def _mailbox(address: Address, label: str, field: str) -> headerregistry.Address:
    """The address validated and normalised (domain lower-cased, IDN as ASCII), with its name."""
    refuse_unsafe_header(address.email, label, f"{field}.email")
    valid = valid_address(address.email, label=label, field=f"{field}.email")
    refuse_unsafe_header(address.name, f"The name given for {address.email}", f"{field}.name")
    # Built from the validated parts, never parsed from a string (CVE-2023-27043).
    return headerregistry.Address(
        display_name=address.name, username=valid.local_part, domain=valid.ascii_domain
    )


def content_id(name: str, domain: str) -> str:
    """A new Content-ID for an inline image: `name`, a random part and `domain`, the sender's
    ("logo.3f9c0a1b2c3d4e5f@meier.example"); unique, like a Message-ID, so that no mail
    program takes one email's logo for another's."""
    return f"{name}.{secrets.token_hex(8)}@{_message_id_domain(domain)}"


def _message_id_domain(domain: str) -> str:
    """The domain as ASCII, refused unless it is a domain mail could be sent to."""
    refuse_unsafe_header(domain, "The Message-ID domain", "message_id_domain")
    valid = valid_address(
        f"postmaster@{domain}", label="The Message-ID domain of", field="message_id_domain"
    )
    return valid.ascii_domain


def _check_extra_headers(headers: dict[str, str]) -> None:
    for name, value in headers.items():
        field = f"headers.{name}"
        if not _HEADER_NAME.fullmatch(name):
            raise Invalid(
                f"The header name {name!r} is not valid; use letters, digits and hyphens.",
                code=Code.HEADER_NAME_INVALID,
                params={"name": name},
                field=field,
            )
        lowered = name.lower()
        if lowered in _RESERVED_HEADERS or lowered.startswith("content-"):
            raise Invalid(
                f"The header {name} is set by the email itself; remove it.",
                code=Code.HEADER_RESERVED,
                params={"name": name},
                field=field,
            )
        refuse_unsafe_header(value, f"The value of the {name} header", field)


def _check_content_type(content_type: str, what: str, field: str) -> None:
    if not _CONTENT_TYPE.fullmatch(content_type):
        raise Invalid(
            f'The content type {content_type!r} of {what} is not valid; give it as "type/subtype".',
            code=Code.CONTENT_TYPE_INVALID,
            params={"content_type": content_type},
            field=field,
        )


def _check_attachments(attachments: list[Attachment]) -> None:
    for i, attachment in enumerate(attachments):
        what = f"attachment {i + 1}"
        field = f"attachments[{i}]"
        if not attachment.filename.strip():
            raise Invalid(
                f"Attachment {i + 1} has no file name; give it one.",
                code=Code.ATTACHMENT_NAME_MISSING,
                params={"number": i + 1},
                field=field,
            )
        refuse_unsafe_header(attachment.filename, f"The file name of {what}", f"{field}.filename")
        _check_content_type(attachment.content_type, what, f"{field}.content_type")


def _check_inline_images(images: list[InlineImage]) -> None:
    for i, image in enumerate(images):
        what = f"inline image {i + 1}"
        field = f"inline_images[{i}]"
        if not _CONTENT_ID.fullmatch(image.cid):
            raise Invalid(
                f"The content ID {image.cid!r} of {what} is not valid; give letters, digits, "
                "dots and hyphens, then @ and the sender's domain.",
                code=Code.CONTENT_ID_INVALID,
                params={"cid": image.cid},
                field=f"{field}.cid",
            )
        _check_content_type(image.content_type, what, f"{field}.content_type")
        if not image.content_type.lower().startswith("image/"):
            raise Invalid(
                f"Inline image {i + 1} is not an image.",
                code=Code.INLINE_IMAGE_NOT_IMAGE,
                params={"number": i + 1},
                field=f"{field}.content_type",
            )


def _inline_css(html: str) -> str:
    try:
        return _INLINER.inline(html)
    except css_inline.InlineError as error:
        raise Invalid(
            f"The HTML of the email has a style the inliner cannot read ({error}); "
            "fix the template's <style> block.",
            code=Code.STYLE_UNREADABLE,
            field="html",
        ) from error


def _text_part(text: str, subtype: str) -> MIMEPart:
    part = MIMEPart(policy=_POLICY)
    # Quoted-printable, not 8bit: the bytes must pass relays without 8BITMIME unchanged.
    part.set_content(text, subtype=subtype, charset="utf-8", cte="quoted-printable")
    return part


def _binary_part(
    data: bytes,
    content_type: str,
    *,
    disposition: str,
    filename: str | None = None,
    cid: str | None = None,
) -> MIMEPart:
    part = MIMEPart(policy=_POLICY)
    maintype, subtype = content_type.split("/")
    # The file name goes in Content-Disposition and again as "name" in Content-Type, both
    # RFC 2231 encoded when not ASCII: some clients read only the one, some only the other.
    params = {"name": filename} if filename else None
    part.set_content(
        data, maintype, subtype, disposition=disposition, filename=filename, cid=cid, params=params
    )
    return part


def _multipart(container: MIMEPart, content_type: str, parts: list[MIMEPart]) -> MIMEPart:
    container["Content-Type"] = content_type
    for part in parts:
        container.attach(part)
    return container


def _fill_body(message: EmailMessage, spec: MessageSpec) -> None:
    """Give `message` its body. The tree is assembled from MIMEParts by hand because
    EmailMessage.add_* would stamp MIME-Version on every part."""
    html = _text_part(_inline_css(spec.html), "html")
    if spec.inline_images:
        images = [
            _binary_part(image.data, image.content_type, disposition="inline", cid=f"<{image.cid}>")
            for image in spec.inline_images
        ]
        # RFC 2387 asks for the type of the root part.
        html = _multipart(
            MIMEPart(policy=_POLICY), 'multipart/related; type="text/html"', [html, *images]
        )
    alternative = [_text_part(spec.text, "plain"), html]
    if not spec.attachments:
        _multipart(message, "multipart/alternative", alternative)
        return
    files = [
        _binary_part(file.data, file.content_type, disposition="attachment", filename=file.filename)
        for file in spec.attachments
    ]
    body = _multipart(MIMEPart(policy=_POLICY), "multipart/alternative", alternative)
    _multipart(message, "multipart/mixed", [body, *files])


def _verify_headers(data: bytes, expected: list[str]) -> None:
    """Re-read the written header block: its names must be exactly those set. A second line of
    defence, because Python's email package has let values inject headers before."""
    header_block = data[: data.index(b"\r\n\r\n") + 2]
    written = BytesHeaderParser(policy=email.policy.default).parsebytes(header_block).keys()
    if [name.lower() for name in written] != [name.lower() for name in expected]:
        raise RuntimeError(f"the written headers {written} differ from those set {expected}")


def resent_spec(
    data: bytes, *, to: list[Address], cc: list[Address], bcc: list[Address], date: datetime
) -> MessageSpec:
    """The spec of a message built by `build_message`, read back from its bytes, addressed to
    new recipients: same sender, subject, text, HTML, attachments and inline images (under new
    Content-IDs); a new Message-ID and date. For "fix the address and send again"."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)

    def address(header: str) -> Address | None:
        value = message[header]
        if value is None or not value.addresses:
            return None
        first = value.addresses[0]
        return Address(email=first.addr_spec, name=first.display_name)

    sender = address("From")
    if sender is None:
        raise Invalid(
            "The archived email has no sender; it cannot be sent again.", code=Code.NO_SENDER
        )
    domain = sender.email.rsplit("@", 1)[-1]
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    html = str(html_part.get_content()) if html_part is not None else ""
    inline = []
    for part in message.walk():
        if part["Content-ID"] is None or part.get_content_maintype() != "image":
            continue
        # A new Content-ID, with the domain that emails archived before it had ("<logo>")
        # lack; the HTML's reference follows it.
        old = str(part["Content-ID"]).strip("<>")
        name = re.split("[.@]", old)[0]
        cid = content_id(name if re.fullmatch("[A-Za-z0-9_-]+", name) else "image", domain)
        html = re.sub(f"(['\"])cid:{re.escape(old)}\\1", f"\\1cid:{cid}\\1", html)
        inline.append(
            InlineImage(cid=cid, content_type=part.get_content_type(), data=_payload(part))
        )
    return MessageSpec(
        sender=sender,
        reply_to=address("Reply-To"),
        to=to,
        cc=cc,
        bcc=bcc,
        subject=str(message["Subject"] or ""),
        text=str(text_part.get_content()) if text_part is not None else "",
        html=html,
        attachments=[
            Attachment(
                filename=part.get_filename() or "attachment",
                content_type=part.get_content_type(),
                data=_payload(part),
            )
            for part in message.iter_attachments()
            if part["Content-ID"] is None
        ],
        inline_images=inline,
        message_id_domain=domain,
        date=date,
        headers=(
            {"Disposition-Notification-To": str(message["Disposition-Notification-To"])}
            if message["Disposition-Notification-To"]
            else {}
        ),
    )


def _payload(part: EmailMessage | MIMEPart) -> bytes:
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""
