"""The work report PDF: what was done on an order, by whom, for how long, with which material.

Pure: an OrderContext and the company logo's bytes in, PDF bytes out, through the HTML template
`layouts/work_report.html`. Labels, dates and numbers follow the report's language (de, fr,
it, en); the photo documentation takes its labels from the same catalogue.
"""

from __future__ import annotations

import base64
import io
import re
from datetime import date, datetime

import msgspec
from PIL import Image, ImageOps, UnidentifiedImageError

from organisatrice.compose.context import OrderContext
from organisatrice.compose.layouts import render_layout
from organisatrice.compose.pdf import html_to_pdf
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid

# The companies' default colour (roles/tables.py); it stands in for a value that is not a
# colour, since the brand colour reaches the template's CSS, where escaping HTML is not enough.
DEFAULT_BRAND_COLOUR = "#1d4ed8"
_HEX_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
# The logo is printed at most 70 mm × 22 mm: twice that in pixels at 300 dpi is plenty, and keeps
# a camera-sized logo from swelling every report.
_LOGO_BOX = (1600, 520)


class Labels(msgspec.Struct, frozen=True, kw_only=True):
    title: str
    client: str
    client_number: str
    building: str
    order: str
    order_number: str
    period: str
    report_date: str
    contact: str
    work: str
    date: str
    technician: str
    description: str
    hours: str
    total_hours: str
    no_work: str
    materials: str
    article: str
    quantity: str
    unit: str
    remarks: str
    # The photo documentation's title; {number} is the order number.
    photo_title: str
    # "Seite 3 von 5" at the foot of every page: the words around the two numbers.
    page: str
    page_of: str
    # The client's signature under the report; {name}, {date} and {time} are filled in.
    signature: str
    signed_by: str
    # Swiss usage (CLDR de-CH, fr-CH, it-CH): a decimal point, except in French.
    decimal: str


LABELS = {
    "de": Labels(
        title="Arbeitsrapport",
        client="Kunde",
        client_number="Kunden-Nr.",
        building="Objekt",
        order="Auftrag",
        order_number="Auftrags-Nr.",
        period="Ausführung",
        report_date="Rapportdatum",
        contact="Ansprechperson",
        work="Ausgeführte Arbeiten",
        date="Datum",
        technician="Techniker",
        description="Beschreibung",
        hours="Stunden",
        total_hours="Total Stunden",
        no_work="Keine Arbeiten erfasst.",
        materials="Material",
        article="Artikel",
        quantity="Menge",
        unit="Einheit",
        remarks="Bemerkungen",
        photo_title="Fotodokumentation Auftrag {number}",
        page="Seite",
        page_of="von",
        signature="Unterschrift Kunde",
        signed_by="Unterschrieben von {name} am {date} um {time}",
        decimal=".",
    ),
    "fr": Labels(
        title="Rapport de travail",
        client="Client",
        client_number="N° client",
        building="Bâtiment",
        order="Mandat",
        order_number="N° de mandat",
        period="Exécution",
        report_date="Date du rapport",
        contact="Interlocuteur",
        work="Travaux effectués",
        date="Date",
        technician="Technicien",
        description="Description",
        hours="Heures",
        total_hours="Total des heures",
        no_work="Aucun travail saisi.",
        materials="Matériel",
        article="Article",
        quantity="Quantité",
        unit="Unité",
        remarks="Remarques",
        photo_title="Documentation photo, mandat {number}",
        page="Page",
        page_of="sur",
        signature="Signature du client",
        signed_by="Signé par {name} le {date} à {time}",
        decimal=",",
    ),
    "it": Labels(
        title="Rapporto di lavoro",
        client="Cliente",
        client_number="N. cliente",
        building="Edificio",
        order="Ordine",
        order_number="N. ordine",
        period="Esecuzione",
        report_date="Data del rapporto",
        contact="Referente",
        work="Lavori eseguiti",
        date="Data",
        technician="Tecnico",
        description="Descrizione",
        hours="Ore",
        total_hours="Totale ore",
        no_work="Nessun lavoro registrato.",
        materials="Materiale",
        article="Articolo",
        quantity="Quantità",
        unit="Unità",
        remarks="Osservazioni",
        photo_title="Documentazione fotografica, ordine {number}",
        page="Pagina",
        page_of="di",
        signature="Firma del cliente",
        signed_by="Firmato da {name} il {date} alle {time}",
        decimal=".",
    ),
    "en": Labels(
        title="Work report",
        client="Client",
        client_number="Client no.",
        building="Building",
        order="Order",
        order_number="Order no.",
        period="Carried out",
        report_date="Report date",
        contact="Contact",
        work="Work carried out",
        date="Date",
        technician="Technician",
        description="Description",
        hours="Hours",
        total_hours="Total hours",
        no_work="No work recorded.",
        materials="Materials",
        article="Article",
        quantity="Quantity",
        unit="Unit",
        remarks="Remarks",
        photo_title="Photo documentation, order {number}",
        page="Page",
        page_of="of",
        signature="Client's signature",
        signed_by="Signed by {name} on {date} at {time}",
        decimal=".",
    ),
}
# English month names written out, not strftime's %b, which follows the process locale.
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _WorkRow(msgspec.Struct, frozen=True, kw_only=True):
    date: str
    technician: str
    hours: str
    description: str


class _MaterialRow(msgspec.Struct, frozen=True, kw_only=True):
    article: str
    quantity: str
    unit: str


class SignatureMark(msgspec.Struct, frozen=True, kw_only=True):
    """The client's signature as the report shows it: the drawing (PNG), the name, and the
    time, already in the time zone the report speaks of."""

    image: bytes
    signer_name: str
    signed_at: datetime


class _Signed(msgspec.Struct, frozen=True, kw_only=True):
    image: str
    line: str


class _Report(msgspec.Struct, frozen=True, kw_only=True):
    """What the template shows, already formatted for the report's language."""

    brand: str
    brand_text: str
    logo: str | None
    period: str
    report_date: str
    work: list[_WorkRow]
    total_hours: str
    materials: list[_MaterialRow]
    signature: _Signed | None


def labels_for(language: str) -> Labels:
    """The labels in `language`; English for a language the report does not speak."""
    return LABELS.get(language, LABELS["en"])


def format_date(value: date, language: str) -> str:
    """24.11.2026 as written in Switzerland; 24 Nov 2026 in English, which British and American
    readers both read the same way (03/01/2027 is March to one, January to the other)."""
    if language in ("de", "fr", "it"):
        return f"{value.day:02d}.{value.month:02d}.{value.year}"
    return f"{value.day} {_MONTHS[value.month - 1]} {value.year}"


def format_number(value: float, language: str) -> str:
    """At most two decimals, none written when they are zero: 8, 7.5, 0.25 (0,25 in French)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace(".", labels_for(language).decimal)


def _period(start: date | None, end: date | None, language: str) -> str:
    days = [d for d in (start, end) if d is not None]
    if not days:
        return ""
    first, last = min(days), max(days)
    if first == last:
        return format_date(first, language)
    return f"{format_date(first, language)} – {format_date(last, language)}"


def brand_colours(colour: str) -> tuple[str, str]:
    """The brand colour as CSS that can be nothing but a colour, and the text colour (white or
    near-black) with the better WCAG contrast on it."""
    colour = colour.strip() if _HEX_COLOUR.match(colour.strip()) else DEFAULT_BRAND_COLOUR
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    on_white = 1.05 / (luminance + 0.05)
    on_black = (luminance + 0.05) / 0.05
    return colour.lower(), "#ffffff" if on_white >= on_black else "#111827"


def _logo_url(logo: bytes) -> str:
    """The logo as a PNG `data:` URL: re-encoded, so no metadata travels with it and WeasyPrint
    gets one well-known format, whatever was uploaded."""
    try:
        with Image.open(io.BytesIO(logo)) as source:
            image = ImageOps.exif_transpose(source)
            image.thumbnail(_LOGO_BOX)
            if image.mode not in ("RGB", "RGBA", "L", "LA"):
                image = image.convert("RGBA")
            out = io.BytesIO()
            image.save(out, "PNG", optimize=True)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise Invalid(
            "The company logo cannot be read as an image. Upload it again (PNG or JPEG) in the "
            "company settings.",
            code=Code.LOGO_UNREADABLE,
            field="logo",
        ) from exc
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _signed(mark: SignatureMark, language: str) -> _Signed:
    """The signature's drawing and its line ("Signed by … on … at …") in `language`."""
    line = labels_for(language).signed_by.format(
        name=mark.signer_name,
        date=format_date(mark.signed_at.date(), language),
        time=f"{mark.signed_at.hour:02d}:{mark.signed_at.minute:02d}",
    )
    # Checked and re-encoded as PNG when it was stored (compose/signatures.py).
    image = "data:image/png;base64," + base64.b64encode(mark.image).decode("ascii")
    return _Signed(image=image, line=line)


def render_work_report(
    ctx: OrderContext, *, logo: bytes | None, signature: SignatureMark | None = None
) -> bytes:
    """The work report of `ctx.order` as an A4 PDF in `ctx.language`, signed by the client
    when `signature` is given."""
    return html_to_pdf(work_report_html(ctx, logo=logo, signature=signature))


def work_report_html(
    ctx: OrderContext, *, logo: bytes | None, signature: SignatureMark | None = None
) -> str:
    """The work report as the HTML document the PDF is printed from."""
    language = ctx.language
    brand, brand_text = brand_colours(ctx.company.brand_colour)
    report = _Report(
        brand=brand,
        brand_text=brand_text,
        logo=_logo_url(logo) if logo else None,
        period=_period(ctx.order.start_date, ctx.order.end_date, language),
        report_date=format_date(ctx.today, language),
        work=[
            _WorkRow(
                date=format_date(item.date, language),
                technician=item.technician,
                hours=format_number(item.hours, language),
                description=item.description,
            )
            for item in ctx.order.work_items
        ],
        total_hours=format_number(ctx.order.total_hours, language),
        materials=[
            _MaterialRow(
                article=m.article,
                quantity=format_number(m.quantity, language),
                unit=m.unit,
            )
            for m in ctx.order.materials
        ],
        signature=_signed(signature, language) if signature else None,
    )
    return render_layout("work_report.html", ctx=ctx, labels=labels_for(language), report=report)
