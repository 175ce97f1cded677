"""Factories: a company with its people, clients and orders in a few lines of a test."""

from __future__ import annotations

import functools
import io
import itertools
from datetime import date

import msgspec

from organisatrice.compose.schemas import TemplateIn
from organisatrice.compose.tables import EmailTemplate
from organisatrice.compose.templates import check_template
from organisatrice.core.blobs import blob_store
from organisatrice.mail.tables import MailRelay
from organisatrice.orders.tables import (
    Building,
    Client,
    Contact,
    Material,
    Order,
    OrderBuilding,
    OrderResponsible,
    WorkItem,
)
from organisatrice.roles.accounts import create_employee
from organisatrice.roles.passwords import hash_password
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company

DEFAULT_PASSWORD = "correct horse battery"
_serial = itertools.count(1)


@functools.cache
def _default_hash() -> str:
    return hash_password(DEFAULT_PASSWORD)


class Made(msgspec.Struct):
    id: int


class MadeEmployee(Made):
    email: str
    company_id: int


class MadeOrder(Made):
    number: str
    client_id: int
    building_ids: list[int]


async def make_company(name: str | None = None, *, email_enabled: bool = True) -> int:
    company = Company(name=name or f"Company {next(_serial)}", email_enabled=email_enabled)
    await company.save()
    return int(company.id)


async def make_employee(
    company_id: int,
    *,
    roles: set[Role] | frozenset[Role] = frozenset({Role.DISPATCHER}),
    first_name: str = "Eva",
    last_name: str | None = None,
    may_email: bool = True,
) -> MadeEmployee:
    n = next(_serial)
    email = f"employee{n}.c{company_id}@test.example"
    employee_id = await create_employee(
        company_id=company_id,
        first_name=first_name,
        last_name=last_name or f"Tester{n}",
        email=email,
        roles=frozenset(roles),
        password_hash=_default_hash(),
        may_email=may_email,
    )
    return MadeEmployee(id=employee_id, email=email, company_id=company_id)


async def make_client(company_id: int, name: str | None = None) -> int:
    client = Client(company=company_id, name=name or f"Client {next(_serial)} AG", city="Zürich")
    await client.save()
    return int(client.id)


async def make_building(
    company_id: int, client_id: int, *, street: str = "Bahnhofstrasse 12", city: str = "Zürich"
) -> int:
    building = Building(
        company=company_id, client=client_id, street=street, postal_code="8001", city=city
    )
    await building.save()
    return int(building.id)


async def make_contact(
    company_id: int,
    *,
    client_id: int | None = None,
    building_id: int | None = None,
    first_name: str = "Anna",
    last_name: str = "Meier",
    email: str | None = "anna.meier@client.example",
    salutation: str = "ms",
    language: str = "de",
) -> int:
    contact = Contact(
        company=company_id,
        client=client_id,
        building=building_id,
        salutation=salutation,
        first_name=first_name,
        last_name=last_name,
        email=email or "",
        language=language,
    )
    await contact.save()
    return int(contact.id)


async def make_order(
    company_id: int,
    *,
    client_id: int | None = None,
    title: str = "Heizungsservice",
    number: str | None = None,
    status: str = "completed",
    street: str = "Bahnhofstrasse 12",
    responsible: list[int] = (),  # type: ignore[assignment]
    technician_id: int | None = None,
) -> MadeOrder:
    client_id = client_id or await make_client(company_id)
    building_id = await make_building(company_id, client_id, street=street)
    order = Order(
        company=company_id,
        number=number or f"2026-{next(_serial):04d}",
        title=title,
        status=status,
        client=client_id,
        start_date=date(2026, 11, 2),
    )
    await order.save()
    await OrderBuilding.insert(
        OrderBuilding(company=company_id, order=order.id, building=building_id)
    )
    for employee_id in responsible:
        await OrderResponsible.insert(
            OrderResponsible(company=company_id, order=order.id, employee=employee_id)
        )
    if technician_id is not None:
        await WorkItem.insert(
            WorkItem(
                company=company_id,
                order=order.id,
                date=date(2026, 11, 3),
                technician=technician_id,
                hours=2.5,
                description="Brenner gereinigt",
            )
        )
        await Material.insert(
            Material(company=company_id, order=order.id, article="Dichtung", quantity=2, unit="pc")
        )
    return MadeOrder(
        id=int(order.id), number=str(order.number), client_id=client_id, building_ids=[building_id]
    )


# Orders room: more of an order (buildings, work, materials) and files to upload.


async def add_building_to_order(company_id: int, order_id: int, building_id: int) -> None:
    await OrderBuilding.insert(
        OrderBuilding(company=company_id, order=order_id, building=building_id)
    )


async def make_work_item(
    company_id: int,
    order_id: int,
    technician_id: int,
    *,
    hours: float = 1.0,
    day: date = date(2026, 11, 3),
    description: str = "",
) -> int:
    item = WorkItem(
        company=company_id,
        order=order_id,
        date=day,
        technician=technician_id,
        hours=hours,
        description=description,
    )
    await item.save()
    return int(item.id)


async def make_material(
    company_id: int, order_id: int, *, article: str, quantity: float, unit: str = "pc"
) -> int:
    material = Material(
        company=company_id, order=order_id, article=article, quantity=quantity, unit=unit
    )
    await material.save()
    return int(material.id)


def make_image(
    fmt: str = "JPEG",
    *,
    size: tuple[int, int] = (64, 48),
    colour: tuple[int, int, int] = (200, 40, 40),
    **save_options: object,
) -> bytes:
    """A small plain image in `fmt` (JPEG, PNG, WEBP, …); `save_options` go to Pillow's save."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, fmt, **save_options)
    return out.getvalue()


def make_pdf(text: str = "Offer 4711") -> bytes:
    """A tiny but well-formed one-page PDF."""
    content = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


async def stored_blobs() -> set[str]:
    """Every blob in the store, to show an upload left nothing behind."""
    return {blob.sha256 async for page in blob_store().listing() for blob in page}


async def make_template(
    company_id: int,
    *,
    kind: str = "work_report",
    language: str = "de",
    name: str = "Arbeitsrapport senden",
    subject: str = "Arbeitsrapport {{ order.number }}",
    motivation: str = "Im Anhang finden Sie den Arbeitsrapport zum Auftrag {{ order.number }}.",
    attachments: list[str] | None = None,
    roles: list[str] | None = None,
    photos_as_pdf: bool = False,
) -> int:
    template = EmailTemplate(
        company=company_id,
        kind=kind,
        language=language,
        name=name,
        subject=subject,
        greeting="{{ greeting }}",
        motivation=motivation,
        closing="Freundliche Grüsse",
        signature="{{ employee.full_name }}\n{{ company.name }}",
        attachment_filename="",
        attachments=["work_report"] if attachments is None else attachments,
        photos_as_pdf=photos_as_pdf,
        roles=roles or [],
    )
    await template.save()
    return int(template.id)


async def make_relay(company_id: int, port: int, **fields: object) -> None:
    """Point the company at a test relay on loopback and give it a sending address."""
    await MailRelay.insert(
        MailRelay(
            company=company_id,
            host="127.0.0.1",
            port=port,
            tls_mode="none",
            bounce_domain="bounces.test.example",
            **fields,
        )
    )
    await Company.update({Company.sender_address: "office@firm.example"}).where(
        Company.id == company_id
    )


# Compose room: the company's mail settings, templates as back-office saves them, photos to send.


async def set_company(company_id: int, **values: object) -> None:
    """Change company settings directly (sender_address, mail_size_budget, email_enabled, ...)."""
    await Company.update({getattr(Company, name): v for name, v in values.items()}).where(
        Company.id == company_id
    )


async def save_template(company_id: int, template: TemplateIn) -> int:
    """A template checked and stored as the back-office API would store it."""
    await check_template(template)
    values = msgspec.structs.asdict(template)
    values.update(
        kind=template.kind.value,
        attachments=[a.value for a in template.attachments],
        roles=sorted(template.roles),
    )
    row = EmailTemplate(company=company_id, **values)
    await row.save()
    return int(row.id)


def noisy_photo(width: int, height: int, seed: int) -> bytes:
    """A JPEG as hard to compress as a detailed site photo: random colour at a sixth of the
    size, blown up smoothly. 1600×1200 is about 1 MB."""
    import random

    from PIL import Image

    rng = random.Random(seed)
    small = (width // 6, height // 6)
    noise = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
    out = io.BytesIO()
    noise.resize((width, height), Image.Resampling.BILINEAR).save(out, "JPEG", quality=90)
    return out.getvalue()


def photo_with_gps(*, orientation: int = 6) -> bytes:
    """What a phone writes: 400×200 pixels, the left half red, EXIF orientation (6: turn 90°
    clockwise to view), the camera's make, and where it was taken (GPS)."""
    from PIL import ExifTags, Image

    image = Image.new("RGB", (400, 200), (20, 40, 220))
    image.paste((220, 20, 20), (0, 0, 200, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "PhoneCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (8.0, 32.0, 30.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()
