"""Our own HTML layouts (the email body, the PDFs): one autoescaped Jinja environment.

These templates are ours, not users': they render in a plain environment, and every value
they place (the blocks people wrote, captions, names) is escaped.
"""

from __future__ import annotations

import functools
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined


@functools.cache
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(Path(__file__).parent / "layouts"),
        autoescape=True,
        # A misspelt name in our own template is a bug to see, not a blank in a client's mail.
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_layout(template: str, **values: object) -> str:
    return _environment().get_template(template).render(**values)
