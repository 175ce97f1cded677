"""/api/me/signature: an employee's own signature block replaces the template's in the drafts
they start; it is template text, checked and filled in by the one renderer."""

from __future__ import annotations

from litestar import Litestar

from tests.client import ApiClient
from tests.factories import make_company, make_employee
from tests.integration.compose.conftest import Office, new_draft

URL = "/api/me/signature"


async def test_own_signature_fills_the_signature_block_of_new_drafts(
    dispatcher: ApiClient, office: Office
) -> None:
    text = "{{ employee.full_name }}\nEinsatzleitung, {{ company.name }}\nMobile 079 555 12 12"
    changed = await dispatcher.put(URL, json={"text": text})
    assert changed.status_code == 200, changed.text
    assert changed.json()["preview"].splitlines() == [
        "Lea Keller",
        "Einsatzleitung, Meier Haustechnik AG",
        "Mobile 079 555 12 12",
    ]
    assert (await dispatcher.get(URL)).json()["text"] == text

    draft = await new_draft(dispatcher, office)
    assert draft["blocks"]["signature"].splitlines() == [
        "Lea Keller",
        "Einsatzleitung, Meier Haustechnik AG",
        "Mobile 079 555 12 12",
    ]

    # Emptied, the template's signature comes back for the next draft.
    assert (await dispatcher.put(URL, json={"text": "  "})).json() == {"text": "", "preview": ""}
    draft = await new_draft(dispatcher, office)
    assert draft["blocks"]["signature"].splitlines()[1] == "Meier Haustechnik AG"


async def test_a_signature_that_would_not_render_is_refused_with_its_line(
    dispatcher: ApiClient,
) -> None:
    before = (await dispatcher.get(URL)).json()
    answer = await dispatcher.put(URL, json={"text": "Lea Keller\n{{ employee.handy }}"})
    assert answer.status_code == 422
    problem = answer.json()
    assert problem["code"] == "template_unknown_placeholder"
    assert problem["params"]["line"] == 2
    assert (await dispatcher.get(URL)).json() == before


async def test_a_signature_longer_than_a_signature_is_refused(dispatcher: ApiClient) -> None:
    answer = await dispatcher.put(URL, json={"text": "x" * 2_001})
    assert answer.status_code == 400
    assert answer.json()["code"]
    unknown = await dispatcher.put(URL, json={"text": "ok", "html": "<b>"})
    assert unknown.status_code == 400


async def test_signatures_are_each_employees_own(app: Litestar, dispatcher: ApiClient) -> None:
    await dispatcher.put(URL, json={"text": "Lea Keller, Disposition"})
    other_company = await make_company()
    stranger = await make_employee(other_company)
    async with ApiClient.signed_in(app, stranger.email) as client:
        assert (await client.get(URL)).json() == {"text": "", "preview": ""}
        await client.put(URL, json={"text": "Someone else"})
    assert (await dispatcher.get(URL)).json()["text"] == "Lea Keller, Disposition"
