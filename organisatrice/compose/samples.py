"""A sample order context: what the template editor checks templates against and shows as the
example of each placeholder."""

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
    ReplyContext,
    WorkItemContext,
)
from organisatrice.compose.greetings import greeting


def sample_context(language: str = "de") -> OrderContext:
    building = BuildingContext(
        name="Wohnüberbauung Sonnenhof",
        street="Bahnhofstrasse 12",
        postal_code="8001",
        city="Zürich",
        address="Bahnhofstrasse 12, 8001 Zürich",
    )
    return OrderContext(
        company=CompanyContext(
            name="Meier Haustechnik AG",
            street="Industriestrasse 5",
            postal_code="8050",
            city="Zürich",
            phone="+41 44 123 45 67",
            email="info@meier.example",
            website="www.meier.example",
            brand_colour="#c2410c",
        ),
        client=ClientContext(
            name="Immobilien Müller AG",
            number="K-1042",
            street="Seestrasse 40",
            postal_code="8002",
            city="Zürich",
        ),
        building=building,
        buildings=[building],
        contact=ContactContext(
            salutation="ms",
            first_name="Anna",
            last_name="Meier",
            full_name="Anna Meier",
            function="Liegenschaftsverwalterin",
            email="anna.meier@kunden.example",
            language=language,
        ),
        employee=EmployeeContext(
            first_name="Lea",
            last_name="Keller",
            full_name="Lea Keller",
            email="lea.keller@meier.example",
            phone="+41 44 123 45 70",
            signature="",
        ),
        order=OrderFacts(
            number="2026-4711",
            title="Heizungsservice",
            description="Jährlicher Service der Gasheizung",
            status="completed",
            start_date=date(2026, 11, 23),
            end_date=date(2026, 11, 24),
            remarks="",
            work_items=[
                WorkItemContext(
                    date=date(2026, 11, 24),
                    technician="Tom Roth",
                    hours=2.5,
                    description="Brenner gereinigt, Abgaswerte gemessen",
                )
            ],
            materials=[MaterialContext(article="Dichtung 3/4", quantity=2, unit="pc")],
            total_hours=2.5,
        ),
        language=language,
        greeting=greeting(salutation="ms", first_name="Anna", last_name="Meier", language=language),
        today=date(2026, 11, 25),
        reply=ReplyContext(
            sender="anna.meier@kunden.example",
            sender_name="Anna Meier",
            subject="Arbeitsrapport Auftrag 2026-4711",
            date="25.11.2026",
            text="Besten Dank. Können Sie auch die Fotos schicken?",
            quote="> Besten Dank. Können Sie auch die Fotos schicken?",
        ),
    )
