"""The subject the relay receives is the subject the app stored and shows, space for space, for
the first send and for a resend, in all four languages; decoded as a mail program would from the
bytes on the wire."""

from __future__ import annotations

import email
import email.policy
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest
from litestar import Litestar

from organisatrice.mail.tables import SentEmail
from tests.client import ApiClient
from tests.factories import make_template
from tests.integration.archive.helpers import drain, office
from tests.smtp_relay import smtp_relay

# Each rendered with the order's number, so the fold points move with it; the accented words
# sit at the end and where a line of 78 characters ends. Rendering joins words with one space;
# a person may type more, and German and Italian get them so.
SUBJECTS = {
    "de": "Arbeitsrapport, Auftrag {{ order.number }}, Überlandstrasse 2, 8050 Zürich",
    "fr": "Rapport de travail, commande {{ order.number }} « Réfection façade », 1204 Genève",
    "it": "Rapporto di lavoro, ordine {{ order.number }}, Via della Posta 8, 6900 Lugano città",
    "en": "Work report, order {{ order.number }}, Thurgauerstrasse 117, 8050 Zürich",
}


def decoded(data: bytes) -> tuple[str, str]:
    """The Subject as Python's parser reads it, and as `email.header` decodes the unfolded
    header."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    header_block = data[: data.index(b"\r\n\r\n")].decode("ascii")
    unfolded = header_block.replace("\r\n ", " ").replace("\r\n\t", "\t").split("\r\n")
    raw = next(line for line in unfolded if line.startswith("Subject: "))
    return str(message["Subject"]), str(make_header(decode_header(raw[len("Subject: ") :])))


@pytest.mark.parametrize("language", list(SUBJECTS))
async def test_the_subject_sent_and_resent_is_the_subject_stored_and_shown(
    app: Litestar, language: str
) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        template = await make_template(
            setup.company,
            language=language,
            name=f"Subject {language}",
            subject=SUBJECTS[language],
            attachments=[],
        )
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": template, "address": "anna.meier@client.example"},
            )
            assert draft.status_code == 201, draft.text
            subject = draft.json()["blocks"]["subject"]
            if language in ("de", "it"):
                subject = subject.replace(", ", ",  ").replace(" Via", "   Via")
                edited = await client.patch(
                    f"/api/orders/{setup.order}/drafts/{draft.json()['id']}",
                    json={
                        "version": draft.json()["version"],
                        "blocks": {**draft.json()["blocks"], "subject": subject},
                    },
                )
                assert edited.status_code == 200, edited.text
            sent = await client.post(f"/api/orders/{setup.order}/drafts/{draft.json()['id']}/send")
            assert sent.status_code == 201, sent.text
            await drain()
            again = await client.post(
                f"/api/emails/{sent.json()['id']}/resend",
                json={"to": [{"email": "anna.meier@client.example", "name": "Anna Meier"}]},
            )
            assert again.status_code == 201, again.text
            await drain()
            shown = [
                (await client.get(f"/api/archive/{answer.json()['id']}")).json()["subject"]
                for answer in (sent, again)
            ]
    first, resent = relay.received
    assert decoded(first.data) == (subject, subject)
    assert decoded(resent.data) == (subject, subject)
    assert shown == [subject, subject]
    stored = (
        await SentEmail.select(SentEmail.subject)
        .where(SentEmail.id.is_in([sent.json()["id"], again.json()["id"]]))
        .order_by(SentEmail.id)
    )
    assert [row["subject"] for row in stored] == [subject, subject]
    for received in (first, resent):
        assert all(len(line) <= 78 for line in received.data.split(b"\r\n\r\n")[0].split(b"\r\n"))
