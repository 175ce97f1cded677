"""A spreadsheet of clients, imported by back-office on a tablet: the columns mapped by their
names (one by hand), a dry run that names three bad rows by their line, the corrected file
checked and imported with its progress, and the import log."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import FilePayload, Page, expect

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.e2e.flows import no_horizontal_scroll, signed_in
from tests.factories import make_company, make_employee

pytestmark = pytest.mark.e2e

HEADER = "Referenz;Firma;Strasse;PLZ;Ort;Kontakt-Mail;Sprache\n"
GOOD = [
    "K-1;Bäckerei Huber;Dorfstrasse 7;8400;Winterthur;info@huber.example;de",
    "K-2;Garage Rossi SA;Via Cantonale 3;6900;Lugano;info@rossi.example;it",
    "K-3;Immobilien Müller AG;Seestrasse 1;8002;Zürich;verwaltung@mueller.example;de",
    "K-4;Régie du Lac SA;Rue du Lac 12;1003;Lausanne;contact@regie.example;fr",
    "K-5;Stiftung Lindenhof;Lindenweg 2;8032;Zürich;stiftung@lindenhof.example;de",
    "K-6;Hotel Bellevue;Quai 9;6004;Luzern;empfang@bellevue.example;en",
]
# Lines 3, 5 and 6 of the file (the header is line 1): a bad address, no name, an unknown
# language.
BAD = list(GOOD)
BAD[1] = "K-2;Garage Rossi SA;Via Cantonale 3;6900;Lugano;info at rossi;it"
BAD[3] = "K-4;;Rue du Lac 12;1003;Lausanne;contact@regie.example;fr"
BAD[4] = "K-5;Stiftung Lindenhof;Lindenweg 2;8032;Zürich;stiftung@lindenhof.example;klingonisch"


def csv(name: str, rows: list[str]) -> FilePayload:
    data = (HEADER + "\n".join(rows) + "\n").encode()
    return {"name": name, "mimeType": "text/csv", "buffer": data}


async def test_back_office_imports_clients_after_a_dry_run_that_finds_three_bad_rows(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
    )
    await signed_in(page, boss.email, "Lea Keller")
    await page.get_by_test_id("nav-admin").tap()
    await page.get_by_role("link", name="Import", exact=True).tap()
    await expect(page.get_by_role("heading", name="Import", exact=True)).to_be_visible()
    await page.get_by_label("Was die Tabelle enthält").select_option("client")
    await page.set_input_files("#import-file", files=csv("kunden.csv", BAD))

    # The columns, mapped by their names; "Kontakt-Mail" is not a name it knows: mapped by hand.
    await expect(page.get_by_role("heading", name="kunden.csv")).to_be_visible()
    await expect(page.get_by_label("Spalte 1 Referenz")).to_have_value("external_id")
    await expect(page.get_by_label("Spalte 2 Firma")).to_have_value("name")
    mail = page.get_by_label("Spalte 6 Kontakt-Mail")
    await expect(mail).to_have_value("")
    await mail.select_option("email")
    await expect(mail).to_have_value("email")
    await page.screenshot(path=screenshots / "import-columns.png", full_page=True)

    # The dry run: what would happen, and each bad row by its line in the file.
    await page.get_by_role("button", name="Prüfen (Probelauf)").tap()
    await expect(page.get_by_test_id("import-status")).to_have_text("geprüft")
    await expect(page.get_by_test_id("count-created")).to_have_text("3")
    await expect(page.get_by_test_id("count-failed")).to_have_text("3")
    errors = page.get_by_test_id("import-error")
    await expect(errors).to_have_count(3)
    await expect(errors.nth(0)).to_contain_text("3")
    await expect(errors.nth(0)).to_contain_text("Kontakt-Mail")
    await expect(errors.nth(1)).to_contain_text("5")
    await expect(errors.nth(2)).to_contain_text("6")
    # Each reason in the reader's words, naming the column as the file does.
    await expect(errors.nth(2)).to_contain_text(
        "«klingonisch» ist kein Wert für «Sprache»; möglich: de, fr, it, en."
    )
    await expect(page.get_by_role("button", name="Importieren", exact=True)).to_be_disabled()
    async with ApiClient.signed_in(app, boss.email) as api:
        assert (await api.get("/api/clients")).json() == []
    await page.get_by_test_id("import-run").scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "import-check.png", full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / "import-check-phone.png", full_page=True)
    await page.set_viewport_size({"width": 768, "height": 1024})

    # The corrected file keeps the kind, the mode and the mapping made by hand.
    await page.set_input_files("#corrected", files=csv("kunden-korrigiert.csv", GOOD))
    await expect(page.get_by_role("heading", name="kunden-korrigiert.csv")).to_be_visible()
    await expect(page.get_by_label("Spalte 6 Kontakt-Mail")).to_have_value("email")
    await page.get_by_role("button", name="Prüfen (Probelauf)").tap()
    await expect(page.get_by_test_id("count-created")).to_have_text("6")
    await expect(page.get_by_test_id("count-failed")).to_have_text("0")
    await expect(errors).to_have_count(0)
    await page.get_by_role("button", name="Importieren", exact=True).tap()
    await expect(page.get_by_test_id("import-status")).to_have_text("importiert")
    await expect(page.get_by_text("Import abgeschlossen.")).to_be_visible()
    await expect(page.get_by_test_id("count-created")).to_have_text("6")
    await page.screenshot(path=screenshots / "import-done.png", full_page=True)

    async with ApiClient.signed_in(app, boss.email) as api:
        clients = (await api.get("/api/clients")).json()
    assert sorted(c["external_id"] for c in clients) == [f"K-{n}" for n in range(1, 7)]
    assert {c["name"]: c["email"] for c in clients}["Garage Rossi SA"] == "info@rossi.example"

    # The log lists both, newest first.
    await page.locator("a.back").tap()
    rows = page.get_by_test_id("import-row")
    await expect(rows).to_have_count(2)
    await expect(rows.first).to_contain_text("kunden-korrigiert.csv")
    await expect(rows.first).to_contain_text("importiert")
    await expect(rows.nth(1)).to_contain_text("3 fehlerhaft")
    await page.screenshot(path=screenshots / "imports.png")
    await page.set_viewport_size({"width": 390, "height": 844})
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / "imports-phone.png")
