"""HTML to PDF, the one place WeasyPrint runs, for the work report and the photo documentation.

The rendered HTML carries text people typed (descriptions, captions), so WeasyPrint must never
reach the network or the disk on its behalf: the fetcher lets through only `data:` URLs, which is
how our templates embed images. CPU-bound and synchronous: callers run it in a thread.
"""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from organisatrice.compose.layouts import render_layout


def local_fetcher() -> URLFetcher:
    """A fetcher that refuses every URL but `data:` (http, https, ftp and file included).

    A new one per rendering: a URLFetcher keeps request state between calls, and renderings run
    in several threads at once. A refused URL is skipped with a warning in WeasyPrint's log; the
    rest of the page still renders."""
    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """The PDF of a complete HTML document whose images are embedded as `data:` URLs."""
    pdf: bytes = HTML(string=html, url_fetcher=local_fetcher()).write_pdf()
    return pdf


def render_pdf(template: str, **values: object) -> bytes:
    """The PDF of one of our templates (`layouts/<template>`) rendered with `values`."""
    return html_to_pdf(render_layout(template, **values))
