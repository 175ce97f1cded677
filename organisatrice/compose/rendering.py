"""The one place that renders user-editable templates: Jinja's immutable sandbox, strict about
unknown placeholders, bounded in output size and in work.

Back-office staff write templates, so a template is untrusted code: it runs in
`ImmutableSandboxedEnvironment` over plain dicts (never ORM objects), every undefined name is
an error, `*` and `**` are checked before they compute, loops may not nest, and rendering
stops as soon as the output passes the size limit.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Mapping
from typing import Any

import msgspec
from jinja2 import StrictUndefined, TemplateSyntaxError, UndefinedError, nodes
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from organisatrice.core.errors import Invalid

MAX_OUTPUT = 20_000  # characters per rendered block; an email paragraph is far shorter
MAX_SOURCE = 10_000
MAX_EXPONENT = 100


class TemplateProblem(msgspec.Struct, frozen=True):
    field: str
    line: int | None
    message: str


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"the exponent {right} is too large")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            too_long = (
                isinstance(seq, str | list | tuple)
                and isinstance(count, int)
                and len(seq) * count > MAX_OUTPUT
            )
            if too_long:
                raise SecurityError("this repetition would produce too much text")
        return operator.mul(left, right)


@functools.cache
def _environment() -> _Sandbox:
    # Blocks are plain text; the HTML layout escapes them when it places them.
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.globals = {"range": _small_range}
    return env


MAX_RANGE = 1000


def _small_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range() may produce at most {MAX_RANGE} items")
    return result


def _check_loops(tree: nodes.Template, field: str) -> None:
    for loop in tree.find_all(nodes.For):
        if next(iter(loop.find_all(nodes.For)), None) is not None:
            raise Invalid(
                f"{_label(field)}, line {loop.lineno}: loops inside loops are not allowed.",
                field=field,
            )


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def _bounded(chunks: Iterator[str], field: str) -> str:
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise Invalid(
                f"{_label(field)} renders to more than {MAX_OUTPUT} characters; shorten it.",
                field=field,
            )
        out.append(chunk)
    return "".join(out)


def _line_of(exc: BaseException) -> int | None:
    """The template line a runtime error happened on, from Jinja's rewritten traceback."""
    tb = exc.__traceback__
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == "<template>":
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def render(source: str, context: Mapping[str, Any], *, field: str) -> str:
    """Render one block. Any problem is an `Invalid` that names the field, the line and the
    cause, e.g. "Subject, line 1: unknown placeholder 'order.numbr'"."""
    if len(source) > MAX_SOURCE:
        raise Invalid(f"{_label(field)} is longer than {MAX_SOURCE} characters.", field=field)
    env = _environment()
    try:
        tree = env.parse(source)
        _check_loops(tree, field)
        template = env.from_string(tree)
        return _bounded(template.generate(dict(context)), field).strip()
    except TemplateSyntaxError as exc:
        raise Invalid(f"{_label(field)}, line {exc.lineno}: {exc.message}", field=field) from None
    except UndefinedError as exc:
        unknown = _first_unknown(tree, context)
        line = unknown[1] if unknown else _line_of(exc)
        name = f"'{unknown[0]}'" if unknown else str(exc.message)
        at = f", line {line}" if line else ""
        raise Invalid(f"{_label(field)}{at}: unknown placeholder {name}.", field=field) from None
    except (SecurityError, TemplateError, ArithmeticError, TypeError, ValueError) as exc:
        where = _line_of(exc)
        at = f", line {where}" if where else ""
        raise Invalid(f"{_label(field)}{at}: not allowed: {exc}", field=field) from None


def _dotted(node: nodes.Node) -> str | None:
    parts: list[str] = []
    while isinstance(node, nodes.Getattr):
        parts.append(node.attr)
        node = node.node
    if isinstance(node, nodes.Name):
        return ".".join([node.name, *reversed(parts)])
    return None


def _first_unknown(tree: nodes.Template, context: Mapping[str, Any]) -> tuple[str, int] | None:
    """The first `a.b.c` in the template that the context cannot resolve, and its line, so the
    editor can say "unknown placeholder 'order.numbr'" rather than Jinja's own words."""
    local = {n.name for n in tree.find_all(nodes.Name) if n.ctx in ("store", "param")}
    for node in tree.find_all((nodes.Getattr, nodes.Name)):
        path = _dotted(node)
        if path is None or path.split(".")[0] in local:
            continue
        value: Any = context
        for part in path.split("."):
            if not isinstance(value, Mapping) or part not in value:
                return path, node.lineno
            value = value[part]
    return None


def placeholders(context_type: type[msgspec.Struct]) -> list[str]:
    """Every `a.b` a template may name, derived from the context Struct, for the editor."""
    found: list[str] = []

    def walk(info: msgspec.inspect.Type, prefix: str) -> None:
        if isinstance(info, msgspec.inspect.StructType):
            for f in info.fields:
                walk(f.type, f"{prefix}{f.name}.")
        elif isinstance(info, msgspec.inspect.UnionType):
            for t in info.types:
                walk(t, prefix)
        elif not isinstance(info, msgspec.inspect.NoneType | msgspec.inspect.ListType):
            found.append(prefix.rstrip("."))

    walk(msgspec.inspect.type_info(context_type), "")
    return sorted(set(found))
