"""parse_report: real delivery reports, read receipts and bounces give the right event, recipient,
status and diagnostic; the sample corpus of flufl.bounce reads as the library reads it; and input
that is no report, or is damaged, gives "unknown" or a partial result, never a crash or a
recipient the input does not name."""

from __future__ import annotations

import email
import random
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import msgspec
import pytest
from flufl.bounce import all_failures

from organisatrice.mail.reports import RecipientReport, Report, parse_report

SAMPLES = Path(__file__).parent / "reports"
CORPUS = sorted((SAMPLES / "flufl_bounce").glob("*.txt"))
FIXTURES = sorted(SAMPLES.glob("*.eml"))
CET = timezone(timedelta(hours=1))
ANNA = "anna.meier@immobilien-meier.example"
BRUNO = "b.rossi@verwaltung-rossi.example"
USER_UNKNOWN = (
    f"550 5.1.1 <{ANNA}>: Recipient address rejected: User unknown in virtual mailbox table"
)


def sample(name: str) -> bytes:
    return (SAMPLES / name).read_bytes()


def dsn(status_part: str, *, headers: str = "Content-Type: message/delivery-status\n") -> bytes:
    """A minimal multipart/report around a hand-written status part."""
    return (
        "From: MAILER-DAEMON@mail.keller-haustechnik.example\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B"\n'
        "\n"
        "--B\n"
        "Content-Type: text/plain\n"
        "\n"
        "Delivery failed.\n"
        "--B\n"
        f"{headers}"
        "\n"
        f"{status_part}"
        "--B\n"
        "Content-Type: text/rfc822-headers\n"
        "\n"
        "Message-ID: <4711.1@keller-haustechnik.example>\n"
        "--B--\n"
    ).encode()


# Standard reports (RFC 3464, RFC 6533, RFC 8098)


def test_postfix_failure_is_bounced_with_the_remote_reply() -> None:
    assert parse_report(sample("postfix_failed.eml")) == Report(
        kind="dsn",
        recipients=[
            RecipientReport(
                email=ANNA,
                event="bounced",
                status="5.1.1",
                diagnostic=USER_UNKNOWN,
                remote_mta="mx1.immobilien-meier.example",
            )
        ],
        original_message_id="<176407573117.48213.9930166128477305185@keller-haustechnik.example>",
        envelope_id="k7qx3mz9wp2r",
        reporting_mta="mail.keller-haustechnik.example",
        arrival=datetime(2025, 11, 25, 14, 2, 11, tzinfo=CET),
    )


def test_postfix_success_report_relayed_counts_as_delivered() -> None:
    report = parse_report(sample("postfix_relayed.eml"))

    assert report.kind == "dsn"
    assert report.recipients == [
        RecipientReport(
            email=ANNA,
            event="delivered",
            status="2.0.0",
            diagnostic="250 2.0.0 Ok: queued as 4dG8Bq0sKcz1kLp",
            remote_mta="mx1.immobilien-meier.example",
        )
    ]
    assert report.original_message_id == (
        "<176407680112.48213.1620955410332657719@keller-haustechnik.example>"
    )
    assert report.envelope_id == "p2zr8ntq4hsa"


def test_postfix_delay_warning_is_delayed_with_its_reason() -> None:
    report = parse_report(sample("postfix_delayed.eml"))

    assert report.kind == "dsn"
    assert report.recipients == [
        RecipientReport(
            email=BRUNO,
            event="delayed",
            status="4.4.1",
            diagnostic=(
                "connect to mx.verwaltung-rossi.example[203.0.113.40]:25: Connection timed out"
            ),
        )
    ]
    assert report.original_message_id == (
        "<176405496903.48213.4474011962351702853@keller-haustechnik.example>"
    )
    assert report.envelope_id == "w9c4kd7mfe2t"


def test_exim_dsn_takes_the_remote_status_over_exims_generic_one() -> None:
    # Exim writes "Status: 5.0.0" for every failure; the remote said 5.1.1.
    report = parse_report(sample("exim_dsn_failed.eml"))

    assert report.kind == "dsn"
    assert report.recipients == [
        RecipientReport(
            email=ANNA,
            event="bounced",
            status="5.1.1",
            diagnostic=USER_UNKNOWN,
            remote_mta="mx1.immobilien-meier.example",
        )
    ]
    assert report.original_message_id == (
        "<176407573324.51877.2716009143655581025@keller-haustechnik.example>"
    )
    assert report.envelope_id == "f3hy6vq1zn8c"
    assert report.arrival is None


def test_office365_recipient_not_found() -> None:
    report = parse_report(sample("office365_ndr.eml"))

    assert report.kind == "dsn"
    assert report.recipients == [
        RecipientReport(
            email=ANNA,
            event="bounced",
            status="5.1.10",
            diagnostic=(
                "550 5.1.10 RESOLVER.ADR.RecipientNotFound; "
                "Recipient not found by SMTP address lookup"
            ),
        )
    ]
    # From the returned message/rfc822, not the NDR's own Message-ID.
    assert report.original_message_id == (
        "<176407573209.48213.5183390072614498267@keller-haustechnik.example>"
    )
    assert report.reporting_mta == "ZR0P278MB0914.CHEP278.PROD.OUTLOOK.COM"
    assert report.arrival == datetime(2025, 11, 25, 13, 2, 12, tzinfo=UTC)


def test_office365_delay_notice_is_delayed() -> None:
    report = parse_report(sample("office365_delayed.eml"))

    assert report.kind == "dsn"
    assert report.recipients == [
        RecipientReport(
            email=BRUNO, event="delayed", status="4.4.7", diagnostic="400 4.4.7 Message delayed"
        )
    ]
    assert report.original_message_id == (
        "<176405836051.48213.6684425160934921478@keller-haustechnik.example>"
    )


def test_gmail_bounce_gives_its_multiline_reply_as_one() -> None:
    report = parse_report(sample("gmail_bounce.eml"))

    assert report.kind == "dsn"
    assert report.recipients == [
        RecipientReport(
            email="nosuchuser.organisatrice@gmail.com",
            event="bounced",
            status="5.1.1",
            diagnostic=(
                "550 5.1.1 The email account that you tried to reach does not exist. Please try "
                "double-checking the recipient's email address for typos or unnecessary spaces. "
                "For more information, go to https://support.google.com/mail/?p=NoSuchUser "
                "a640c23a62f3a-b76f1c3d2e5si2207341366b.412 - gsmtp"
            ),
            remote_mta="gmail-smtp-in.l.google.com",
        )
    ]
    assert report.original_message_id == (
        "<176407573002.48213.7741930218496203118@keller-haustechnik.example>"
    )
    assert report.reporting_mta == "googlemail.com"
    assert report.arrival == datetime(2025, 11, 25, 5, 2, 13, tzinfo=timezone(-timedelta(hours=8)))


def test_global_dsn_reads_utf8_addresses() -> None:
    report = parse_report(sample("postfix_global_dsn.eml"))

    assert report.kind == "dsn"
    # The Original-Recipient ("...@Bücher-Müller.example"), its domain lower-cased.
    assert report.recipients == [
        RecipientReport(
            email="jürgen.müller@bücher-müller.example",
            event="bounced",
            status="5.1.1",
            diagnostic=(
                "550 5.1.1 <jürgen.müller@bücher-müller.example>: Recipient address rejected: "
                "User unknown in local recipient table"
            ),
            remote_mta="mx.xn--bcher-mller-thbg.example",
        )
    ]
    # From message/global-headers.
    assert report.original_message_id == (
        "<176407592014.48213.2093658771045529920@keller-haustechnik.example>"
    )
    assert report.envelope_id == "u3fe8jr6yb2w"
    assert msgspec.json.decode(msgspec.json.encode(report), type=Report) == report


def test_dsn_with_a_failed_and_a_delivered_recipient_reports_each() -> None:
    report = parse_report(sample("sendmail_two_recipients.eml"))

    assert report.kind == "dsn"
    # info@ was delivered to the mailbox it is an alias of; reported under the address sent to.
    assert report.recipients == [
        RecipientReport(
            email=ANNA,
            event="bounced",
            status="5.1.1",
            diagnostic=f"550 5.1.1 <{ANNA}>... User unknown",
            remote_mta="mailstore.immobilien-meier.example",
        ),
        RecipientReport(
            email="info@immobilien-meier.example",
            event="delivered",
            status="2.0.0",
            diagnostic="",
            remote_mta="mailstore.immobilien-meier.example",
        ),
    ]
    assert report.original_message_id == (
        "<176407573391.48213.1187240962758301164@keller-haustechnik.example>"
    )
    assert report.envelope_id == "d5mt9qe2xk7f"
    assert report.reporting_mta == "mail.immobilien-meier.example"


def test_thunderbird_read_receipt_is_read() -> None:
    assert parse_report(sample("thunderbird_mdn.eml")) == Report(
        kind="mdn",
        recipients=[RecipientReport(email=ANNA, event="read", status="", diagnostic="")],
        original_message_id="<176407573117.48213.9930166128477305185@keller-haustechnik.example>",
        envelope_id=None,
    )


def test_outlook_read_receipt_is_read() -> None:
    assert parse_report(sample("outlook_mdn_read.eml")) == Report(
        kind="mdn",
        recipients=[RecipientReport(email=ANNA, event="read", status="", diagnostic="")],
        original_message_id="<176407573209.48213.5183390072614498267@keller-haustechnik.example>",
        envelope_id=None,
    )


def test_outlook_deleted_unread_notice_reports_nobody_read() -> None:
    assert parse_report(sample("outlook_mdn_deleted_unread.eml")) == Report(
        kind="mdn",
        recipients=[],
        original_message_id="<176407573209.48213.5183390072614498267@keller-haustechnik.example>",
        envelope_id=None,
    )


@pytest.mark.parametrize(
    "domain",
    [
        "verwaltungrossi.example",
        pytest.param(
            "verwaltung-rossi.example",
            marks=pytest.mark.xfail(
                strict=True,
                reason="flufl.bounce 6.0.0 SimpleMatch drops addresses whose domain has a hyphen "
                "(its VALID pattern allows only [a-z0-9._] after the @)",
            ),
        ),
    ],
)
def test_dovecot_quota_rejection_sent_as_an_mdn_is_a_bounce(domain: str) -> None:
    data = sample("dovecot_quota_reject.eml").replace(b"verwaltung-rossi.example", domain.encode())

    report = parse_report(data)

    assert report.kind == "bounce"
    assert report.recipients == [
        RecipientReport(email=f"b.rossi@{domain}", event="bounced", status="", diagnostic="")
    ]
    assert report.original_message_id == (
        "<176407712906.48213.5530986130498173345@keller-haustechnik.example>"
    )


def test_repeated_recipient_blocks_are_reported_once() -> None:
    report = parse_report((SAMPLES / "flufl_bounce" / "dsn_11.txt").read_bytes())

    assert report.kind == "dsn"
    assert [(r.email, r.event, r.status) for r in report.recipients] == [
        ("joem@example.com", "bounced", "5.1.1")
    ]


def test_utf8_address_escapes_are_decoded() -> None:
    # RFC 6533 writes characters of a utf-8 address as \x{HEX} where it must.
    data = dsn(
        "Reporting-MTA: dns; mail.keller-haustechnik.example\n\n"
        "Final-Recipient: utf-8; j\\x{FC}rgen@b\\x{FC}cher.example\n"
        "Action: failed\nStatus: 5.1.1\n",
        headers="Content-Type: message/global-delivery-status\n",
    )

    assert [r.email for r in parse_report(data).recipients] == ["jürgen@bücher.example"]


def test_encoded_global_status_part_is_read() -> None:
    # Unlike message/delivery-status, RFC 6533's part may travel base64 encoded.
    status = (
        "Reporting-MTA: dns; mail.keller-haustechnik.example\n\n"
        "Final-Recipient: utf-8; jürgen@bücher.example\nAction: delayed\nStatus: 4.2.2\n"
    )
    encoded = email.base64mime.body_encode(status.encode())
    data = dsn(
        encoded + "\n",
        headers="Content-Type: message/global-delivery-status\nContent-Transfer-Encoding: base64\n",
    )

    report = parse_report(data)

    assert [(r.email, r.event, r.status) for r in report.recipients] == [
        ("jürgen@bücher.example", "delayed", "4.2.2")
    ]
    assert report.reporting_mta == "mail.keller-haustechnik.example"


def test_only_the_domain_is_lower_cased_and_a_zoneless_arrival_is_utc() -> None:
    data = dsn(
        "Reporting-MTA: dns; mail.keller-haustechnik.example\n"
        "Arrival-Date: Tue, 25 Nov 2025 13:02:11 -0000\n\n"
        "Final-Recipient: RFC822; <Anna.Meier@Immobilien-Meier.EXAMPLE>\n"
        "Action: failed (bad mailbox)\nStatus: 5.1.1 (no such user)\n"
    )

    report = parse_report(data)

    assert [(r.email, r.event, r.status) for r in report.recipients] == [
        ("Anna.Meier@immobilien-meier.example", "bounced", "5.1.1")
    ]
    assert report.arrival == datetime(2025, 11, 25, 13, 2, 11, tzinfo=UTC)
    assert report.original_message_id == "<4711.1@keller-haustechnik.example>"


def test_a_bare_original_message_id_gets_its_angle_brackets() -> None:
    data = (
        "From: anna.meier@immobilien-meier.example\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="B"\n\n'
        "--B\nContent-Type: message/disposition-notification\n\n"
        f"Final-Recipient: rfc822;{ANNA}\n"
        "Original-Message-ID: 4711.2@keller-haustechnik.example\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n"
        "--B--\n"
    ).encode()

    report = parse_report(data)

    assert report.original_message_id == "<4711.2@keller-haustechnik.example>"
    assert [(r.email, r.event) for r in report.recipients] == [(ANNA, "read")]


# Non-standard bounces, read by flufl.bounce


def test_exim_bounce_without_dsn_is_read_by_the_heuristics() -> None:
    assert parse_report(sample("exim_legacy_bounce.eml")) == Report(
        kind="bounce",
        recipients=[
            RecipientReport(email=ANNA, event="bounced", status="5.1.1", diagnostic=USER_UNKNOWN)
        ],
        # From the copy of the headers appended to the explanation.
        original_message_id="<176407573405.51877.8046243950721330466@keller-haustechnik.example>",
        envelope_id=None,
    )


def test_qmail_bounce_is_read_by_the_heuristics() -> None:
    assert parse_report(sample("qmail_bounce.eml")) == Report(
        kind="bounce",
        recipients=[
            RecipientReport(email=ANNA, event="bounced", status="5.1.1", diagnostic=USER_UNKNOWN)
        ],
        original_message_id="<176407573512.51877.3358102286405619822@keller-haustechnik.example>",
        envelope_id=None,
    )


def test_a_reply_is_not_borrowed_from_the_next_failed_address() -> None:
    data = (
        "From: MAILER-DAEMON@mail.keller-haustechnik.example\n"
        f"X-Failed-Recipients: {ANNA}, {BRUNO}\n"
        "Subject: Mail delivery failed: returning message to sender\n\n"
        "A message that you sent could not be delivered to one or more of its\n"
        "recipients. This is a permanent error. The following address(es) failed:\n\n"
        f"  {ANNA}\n"
        "    retry timeout exceeded\n"
        f"  {BRUNO}\n"
        "    host mx.verwaltung-rossi.example [203.0.113.40]\n"
        f"    SMTP error from remote mail server after RCPT TO:<{BRUNO}>:\n"
        f"    552 5.2.2 <{BRUNO}>: Mailbox full\n"
    ).encode()

    report = parse_report(data)

    assert report.kind == "bounce"
    assert report.recipients == [
        RecipientReport(email=ANNA, event="bounced", status="", diagnostic=""),
        RecipientReport(
            email=BRUNO,
            event="bounced",
            status="5.2.2",
            diagnostic=f"552 5.2.2 <{BRUNO}>: Mailbox full",
        ),
    ]


def test_the_flufl_bounce_corpus_is_here() -> None:
    # The wheel ships no samples; they come from the library's source distribution.
    assert len(CORPUS) > 100


@pytest.mark.parametrize("path", CORPUS, ids=[path.name for path in CORPUS])
def test_flufl_bounce_corpus_gives_the_addresses_the_library_finds(path: Path) -> None:
    data = path.read_bytes()
    try:
        temporary, permanent = all_failures(email.message_from_bytes(data))
    except Exception:
        temporary, permanent = frozenset(), frozenset()

    report = parse_report(data)

    bounced = {lower_domain(address.decode()) for address in permanent}
    delayed = {lower_domain(address.decode()) for address in temporary} - bounced
    assert {r.email for r in report.recipients if r.event == "bounced"} == bounced
    assert {r.email for r in report.recipients if r.event == "delayed"} == delayed
    assert (report.kind == "unknown") == (not bounced and not delayed)


def lower_domain(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def assert_named_in(report: Report, data: bytes) -> None:
    """No invented recipients: each reported address is written in the input."""
    text = data.decode("utf-8", "replace").lower()
    for recipient in report.recipients:
        assert recipient.email.lower() in text


# Mail that is no report, and damaged or hostile input


def test_vacation_autoreply_is_unknown() -> None:
    assert parse_report(sample("vacation_autoreply.eml")) == Report(
        kind="unknown", recipients=[], original_message_id=None, envelope_id=None
    )


def test_a_person_writing_back_is_unknown() -> None:
    data = (
        f"From: Anna Meier <{ANNA}>\n"
        "To: bounce+k7qx3mz9wp2r@bounces.keller-haustechnik.example\n"
        "Subject: Re: Arbeitsrapport Auftrag 4711\n"
        "Message-ID: <c0ffee@immobilien-meier.example>\n"
        "In-Reply-To: <176407573117.48213.9930166128477305185@keller-haustechnik.example>\n"
        "Content-Type: text/plain; charset=utf-8\n\n"
        "Thanks for the report! The boiler works again; the invoice can go to\n"
        "buchhaltung@immobilien-meier.example.\n\nAnna Meier\n"
    ).encode()

    assert parse_report(data).kind == "unknown"
    assert parse_report(data).recipients == []


@pytest.mark.parametrize("data", [b"", b"\r\n", b"--\n\n", b"Content-Type: multipart/report\n"])
def test_empty_input_is_unknown(data: bytes) -> None:
    assert parse_report(data) == Report(
        kind="unknown", recipients=[], original_message_id=None, envelope_id=None
    )


@pytest.mark.parametrize("seed", range(5))
def test_random_bytes_are_unknown(seed: int) -> None:
    data = random.Random(seed).randbytes(64 * 1024)

    assert parse_report(data).kind == "unknown"


@pytest.mark.parametrize(
    "status_part",
    [
        "",
        "Reporting-MTA: dns; mail.keller-haustechnik.example\n",
        "\x00\xff garbage without fields\n\n\n: : :\n",
        "Final-Recipient: rfc822; not an address\nAction: failed\nStatus: 5.1.1\n",
        "Final-Recipient: rfc822;\nAction: failed\n",
        f"Final-Recipient: rfc822; {ANNA}\nAction: vanished\n",
        f"Final-Recipient: x400; {ANNA[:9]}\n",
    ],
    ids=["empty", "no recipient", "garbage", "no address", "empty address", "odd action", "cut"],
)
def test_broken_status_part_keeps_what_it_can_and_invents_nobody(status_part: str) -> None:
    report = parse_report(dsn(status_part))

    assert report.kind == "dsn"
    assert report.recipients == []
    assert report.original_message_id == "<4711.1@keller-haustechnik.example>"


def test_a_report_cut_short_anywhere_gives_at_most_its_recipient() -> None:
    data = sample("postfix_failed.eml")
    for end in range(0, len(data), 37):
        report = parse_report(data[:end])
        assert {(r.email, r.event) for r in report.recipients} <= {(ANNA, "bounced")}


def test_a_5_mb_report_is_read_from_its_start_in_bounded_time() -> None:
    # A DSN that returns the whole email, with 5 MB of attachment behind the status part.
    head, _, tail = sample("postfix_failed.eml").rpartition(b"\n--4dG7sL0kQpz9vXy")
    attachment = b"Content-Type: application/pdf\n\n" + b"JVBERi0xLjcKJeLjz9MK\n" * 250_000
    data = head + b"\n" + attachment + b"\n--4dG7sL0kQpz9vXy" + tail

    started = time.monotonic()
    report = parse_report(data)

    assert len(data) > 5_000_000
    assert [(r.email, r.event, r.status) for r in report.recipients] == [(ANNA, "bounced", "5.1.1")]
    # Generous: only the first 512 KiB are read, in well under a second here.
    assert time.monotonic() - started < 10


def test_5_mb_of_text_is_unknown_in_bounded_time() -> None:
    data = b"From: someone@example.com\nSubject: x\n\n" + b"550 5.1.1 user unknown\n\n" * 220_000

    started = time.monotonic()
    assert parse_report(data).kind == "unknown"
    assert time.monotonic() - started < 10


@pytest.mark.parametrize("kind", ["multipart", "message"])
def test_deeply_nested_message_is_unknown_without_recursing(kind: str) -> None:
    depth = 5000
    if kind == "multipart":
        data = b"From: x@example.com\n" + b"".join(
            b'Content-Type: multipart/mixed; boundary="b%d"\n\n--b%d\n' % (level, level)
            for level in range(depth)
        )
    else:
        data = b"From: x@example.com\n" + b"Content-Type: message/rfc822\n\n" * depth
    data += b"Content-Type: text/plain\n\nsee the report\n"

    started = time.monotonic()
    assert parse_report(data).kind == "unknown"
    assert time.monotonic() - started < 10


def test_a_report_deep_inside_nested_parts_is_still_found_up_to_the_limit() -> None:
    wrapped = sample("postfix_failed.eml")
    for level in range(5):
        wrapped = (
            b'Content-Type: multipart/mixed; boundary="w%d"\n\n--w%d\n' % (level, level)
            + wrapped
            + b"\n--w%d--\n" % level
        )

    assert [r.email for r in parse_report(wrapped).recipients] == [ANNA]


@pytest.mark.parametrize("path", FIXTURES, ids=[path.name for path in FIXTURES])
def test_crlf_line_ends_read_the_same(path: Path) -> None:
    # Mail arrives over SMTP with CRLF; the samples are stored with LF.
    data = path.read_bytes()

    assert parse_report(data.replace(b"\n", b"\r\n")) == parse_report(data)


@pytest.mark.parametrize("path", FIXTURES, ids=[path.name for path in FIXTURES])
def test_damaged_reports_never_raise_nor_invent_recipients(path: Path) -> None:
    data = path.read_bytes()
    rng = random.Random(path.name)
    for _ in range(40):
        damaged = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            position = rng.randrange(len(damaged))
            action = rng.random()
            if action < 0.4:
                damaged[position] = rng.randrange(256)
            elif action < 0.7:
                del damaged[position : position + rng.randint(1, 200)]
            else:
                damaged[position:position] = rng.choice(
                    [b"\n", b"\n\n", b":", b";", b"<", b"--", b"\xff", b"Content-Type: message/"]
                )
        report = parse_report(bytes(damaged))
        assert_named_in(report, bytes(damaged))
        msgspec.json.encode(report)  # storable as it is
