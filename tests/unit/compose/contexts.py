"""The OrderContext the compose unit tests render PDFs from: a Zurich company's order at a
Geneva building, with work by technicians whose names are in three scripts."""

from __future__ import annotations

from datetime import date

from organisatrice.compose.context import (
    BuildingContext,
    ClientContext,
    CompanyContext,
    ContactContext,
    EmployeeContext,
    MaterialContext,
    OrderContext,
    OrderFacts,
    WorkItemContext,
)

WORK = [
    WorkItemContext(
        date=date(2026, 11, 24),
        technician="Дмитрий Иванов",
        hours=3.5,
        description="Wärmepumpe geprüft, Kältemitteldruck gemessen",
    ),
    WorkItemContext(
        date=date(2026, 11, 25),
        technician="Zoë Müller-Lüthi",
        hours=2.25,
        description="Radiateurs purgés, vanne thermostatique remplacée",
    ),
    WorkItemContext(
        date=date(2026, 11, 26),
        technician="Ζωή Παπαδοπούλου",
        hours=2,
        description="Final check <b>with</b> the client & handover",
    ),
]


def order_context(
    language: str = "de",
    *,
    work: list[WorkItemContext] | None = None,
    brand_colour: str = "#c2410c",
) -> OrderContext:
    items = WORK if work is None else work
    building = BuildingContext(
        name="Résidence Les Cèdres",
        street="Chemin des Crêts 3",
        postal_code="1218",
        city="Le Grand-Saconnex",
        address="Chemin des Crêts 3, 1218 Le Grand-Saconnex",
    )
    return OrderContext(
        company=CompanyContext(
            name="Meier Haustechnik AG",
            street="Bahnhofstrasse 12",
            postal_code="8001",
            city="Zürich",
            phone="+41 44 123 45 67",
            email="info@meier.example",
            website="www.meier.example",
            brand_colour=brand_colour,
        ),
        client=ClientContext(
            name="Régie Genève-Lac SA",
            number="K-1042",
            street="Quai du Mont-Blanc 5",
            postal_code="1201",
            city="Genève",
        ),
        building=building,
        buildings=[building],
        contact=ContactContext(
            salutation="",
            first_name="",
            last_name="",
            full_name="",
            function="",
            email="",
            language=language,
        ),
        employee=EmployeeContext(
            first_name="Eva",
            last_name="Keller",
            full_name="Eva Keller",
            email="eva.keller@meier.example",
            phone="+41 44 123 45 70",
            signature="",
        ),
        order=OrderFacts(
            number="4711-B",
            title="Révision pompe à chaleur",
            description="",
            status="done",
            start_date=date(2026, 11, 24),
            end_date=date(2026, 11, 26),
            remarks="Filter beim nächsten Besuch ersetzen.\nZugang über den Hintereingang.",
            work_items=items,
            materials=[
                MaterialContext(article="Filtereinsatz F7", quantity=2, unit="Stk"),
                MaterialContext(article="Kältemittel R290", quantity=0.75, unit="kg"),
            ],
            total_hours=sum(item.hours for item in items),
        ),
        language=language,
        greeting="",
        today=date(2026, 11, 27),
    )
