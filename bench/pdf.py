"""Work report PDF: a two-page work report with the company logo, rendered by the app's own path
(`render_work_report`: the HTML template, then WeasyPrint), against the same document rendered
to HTML only, which shows the PDF library's share of the time."""

from __future__ import annotations

import io
import statistics
import time
from datetime import date, timedelta

import msgspec
from PIL import Image, ImageDraw

from bench.common import Measurement, Row, alternate, ratio_row
from organisatrice.compose.context import OrderContext, WorkItemContext
from organisatrice.compose.samples import sample_context
from organisatrice.compose.work_report import render_work_report, work_report_html

TECHNICIANS = ("Tom Roth", "Lara Frei", "Marco Bianchi")


def logo() -> bytes:
    """A company logo as back-office uploads it: a 1200×400 PNG."""
    image = Image.new("RGBA", (1200, 400), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((10, 10, 390, 390), radius=60, fill=(194, 65, 12, 255))
    draw.rectangle((440, 120, 1180, 180), fill=(30, 30, 30, 255))
    draw.rectangle((440, 220, 980, 270), fill=(120, 120, 120, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def two_page_context() -> OrderContext:
    """The sample order with enough work recorded to fill two A4 pages."""
    ctx = sample_context("de")
    start = date(2026, 11, 2)
    items = [
        WorkItemContext(
            date=start + timedelta(days=n // 2),
            technician=TECHNICIANS[n % 3],
            hours=1.5 + (n % 4) * 0.75,
            description=(
                f"Arbeitsschritt {n + 1}: Heizkreis {n % 5 + 1} geprüft, Ventile entlüftet, "
                "Druck gemessen und protokolliert; Dichtungen am Verteiler kontrolliert."
            ),
        )
        for n in range(18)
    ]
    order = msgspec.structs.replace(
        ctx.order,
        work_items=items,
        total_hours=sum(i.hours for i in items),
        end_date=items[-1].date,
    )
    return msgspec.structs.replace(ctx, order=order)


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


async def run(size: str, *, rounds: int, warmup: int) -> list[Row]:
    ctx = two_page_context()
    image = logo()
    pages = page_count(render_work_report(ctx, logo=image))
    renders = 5 if size == "full" else 1

    def timed(render: object) -> Measurement:
        times = []
        for _ in range(renders):
            start = time.perf_counter()
            render()  # type: ignore[operator]
            times.append((time.perf_counter() - start) * 1000)
        return {"ms": statistics.median(times)}

    async def pdf() -> Measurement:
        return timed(lambda: render_work_report(ctx, logo=image))

    async def html() -> Measurement:
        return timed(lambda: work_report_html(ctx, logo=image))

    measured = await alternate({"pdf": pdf, "html": html}, rounds=rounds, warmup=warmup)
    ours = measured["pdf"]
    row = ratio_row(
        benchmark=f"Work report PDF ({pages} pages, logo)",
        database="-",
        unit="ms p50",
        ours=ours,
        baseline=measured["html"],
        baseline_name="the same report as HTML only",
        key="ms",
        target="p50 < 300 ms",
        note=f"WeasyPrint's share: {1 - measured['html']['ms'] / ours['ms']:.0%} of the time",
    )
    row.met = ours["ms"] < 300
    return [row]
