"""HTML to PDF, the one place WeasyPrint runs, for the work report and the photo documentation.

Every PDF is archival (PDF/A): a client files it with the invoice, and it must still open and
print the same in ten years.

The rendered HTML carries text people typed (descriptions, captions), so WeasyPrint must never
reach the network or the disk on its behalf: the fetcher lets through only `data:` URLs, which is
how our templates embed images. CPU-bound and synchronous: callers run it in a thread.
"""

from __future__ import annotations

from weasyprint import HTML
from weasyprint.urls import URLFetcher

from organisatrice.compose.layouts import render_layout

# PDF/A-2u: fonts embedded, sRGB output intent, XMP metadata, and every letter mapped to Unicode,
# so that an archive can search the text. Part 2, not 1: part 1 forbids transparency (the logo's
# alpha channel) and compressed metadata; part 3 only adds embedded files, which we have none of.
ARCHIVAL_VARIANT = "pdf/a-2u"


def local_fetcher() -> URLFetcher:
    """A fetcher that refuses every URL but `data:` (http, https, ftp and file included).

    A new one per rendering: a URLFetcher keeps request state between calls, and renderings run
    in several threads at once. A refused URL is skipped with a warning in WeasyPrint's log; the
    rest of the page still renders."""
    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """The PDF/A of a complete HTML document whose images are embedded as `data:` URLs. Its
    metadata comes from the document's head: `<title>` (Title), `<meta name="author">`,
    `"description"` (Subject), `"keywords"` and `"dcterms.created"`."""
    pdf: bytes = HTML(string=html, url_fetcher=local_fetcher()).write_pdf(
        pdf_variant=ARCHIVAL_VARIANT
    )
    return pdf


def render_pdf(template: str, **values: object) -> bytes:
    """The PDF of one of our templates (`layouts/<template>`) rendered with `values`."""
    return html_to_pdf(render_layout(template, **values))
