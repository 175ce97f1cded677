"""The one place that renders user-editable templates: Jinja's immutable sandbox, strict about
unknown placeholders, bounded in output size and in work.

Back-office staff write templates, so a template is untrusted code: it runs in
`ImmutableSandboxedEnvironment` over plain dicts (never ORM objects), every undefined name is
an error, and rendering stops as soon as the output passes the size limit. Work is bounded too:
no text a template makes grows past the limit (`*`, `+`, `~`, `join` and `replace` are checked
before they compute), numbers stay within 64 bits, only filters and methods that cannot blow
up their input are offered, loops may not nest or recurse and go over at most 1000 items, and
the statements that would let a value be reused and doubled (`set`, `with`, `macro`, ...) are
refused. Each of these closes a way to take a gigabyte or a minute of CPU with a short template.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import msgspec
from jinja2 import (
    StrictUndefined,
    Template,
    TemplateSyntaxError,
    UndefinedError,
    filters,
    nodes,
)
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.nodes import EvalContext
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.utils import pass_eval_context
from jinja2.visitor import NodeTransformer

from organisatrice.core.bounded import Budget, OverBudget, note, run_bounded
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.settings import get_settings

MAX_OUTPUT = 20_000  # characters per rendered block; an email paragraph is far shorter
MAX_SOURCE = 10_000
MAX_EXPONENT = 100
# An email names amounts, hours and counts: nothing near 2**64. Chained powers grow fast
# (`9**99**99**99**99` is gigabytes), so a power is refused before it computes.
MAX_INT_BITS = 64
MAX_RANGE = 1000  # items of range() and of any loop

# Filters that cannot make their input much longer; `join`, `replace` and `round` are bounded
# below. Left out, each for a reason: center, indent, format, wordwrap and batch take a width
# or a count (`'x'|center(10**9)` is a gigabyte), urlencode, tojson, escape and forceescape
# grow text by a factor per use, sum concatenates lists, random is not reproducible.
_FILTERS = frozenset(
    {
        "abs", "attr", "capitalize", "count", "d", "default", "dictsort", "first", "float",
        "groupby", "int", "items", "join", "last", "length", "list", "lower", "map", "max",
        "min", "reject", "rejectattr", "replace", "reverse", "round", "select", "selectattr",
        "sort", "string", "striptags", "title", "trim", "truncate", "unique", "upper",
        "wordcount",
    }
)  # fmt: skip
# Methods a template may call: none makes a result longer than its input. Refused are, among
# others, str.ljust(10**9), str.format and str.translate (which multiply), int.to_bytes.
_METHODS = frozenset(
    {
        "capitalize", "casefold", "count", "endswith", "find", "index", "isdigit", "lower",
        "lstrip", "partition", "removeprefix", "removesuffix", "rfind", "rpartition", "rsplit",
        "rstrip", "split", "splitlines", "startswith", "strip", "swapcase", "title", "upper",
        # dict, and the loop variable
        "get", "items", "keys", "values", "cycle", "changed",
    }
)  # fmt: skip
# Statements an email block has no use for, and that would let a value be reused, so doubled
# again and again (`{% set s = s ~ s %}`), or let a macro call itself.
_STATEMENTS: dict[type[nodes.Node], str] = {
    nodes.Assign: "set",
    nodes.AssignBlock: "set",
    nodes.With: "with",
    nodes.Macro: "macro",
    nodes.CallBlock: "call",
    nodes.FilterBlock: "filter",
    nodes.Block: "block",
    nodes.Extends: "extends",
    nodes.Include: "include",
    nodes.Import: "import",
    nodes.FromImport: "from",
}


def _text_size(value: Any) -> int:
    """Characters `value` takes as text, counted without writing it out."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(_text_size(item) for item in value)
    if isinstance(value, dict):
        return sum(_text_size(k) + _text_size(v) for k, v in value.items())
    return len(str(value))


def _check_size(size: int, what: str) -> None:
    if size > MAX_OUTPUT:
        raise SecurityError(f"{what} would produce more than {MAX_OUTPUT} characters")


class _Sandbox(ImmutableSandboxedEnvironment):
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def call_binop(self, context: Any, op: str, left: Any, right: Any) -> Any:
        if op == "**":
            if isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
                raise SecurityError(f"the exponent {right} is too large")
            too_big = (
                isinstance(left, int)
                and isinstance(right, int)
                and abs(left) > 1
                and right * math.log2(abs(left)) > MAX_INT_BITS
            )
            if too_big:
                raise SecurityError("this power is too large a number")
            return operator.pow(left, right)
        if op == "%":
            if isinstance(left, str):
                # '%1000000000s' % 'x' is a gigabyte; filters format numbers instead.
                raise SecurityError("formatting text with % is not allowed; use a filter")
            return operator.mod(left, right)
        if op == "+":
            if isinstance(left, str | list | tuple):
                _check_size(_text_size(left) + _text_size(right), "this addition")
            return operator.add(left, right)
        for seq, count in ((left, right), (right, left)):
            if isinstance(seq, str | list | tuple) and isinstance(count, int):
                _check_size(_text_size(seq) * count, "this repetition")
        return operator.mul(left, right)

    def is_safe_attribute(self, obj: Any, attr: str, value: Any) -> bool:
        if callable(value) and attr not in _METHODS:
            return False
        return bool(super().is_safe_attribute(obj, attr, value))

    def wrap_str_format(self, value: Any) -> None:
        # Jinja hands out a sandboxed str.format before asking is_safe_attribute; its widths
        # are unchecked ('{0:>1000000000}'.format('x') is a gigabyte), so it is refused too.
        return None


@pass_eval_context
def _join(
    eval_ctx: EvalContext, value: Iterable[Any], d: str = "", attribute: str | int | None = None
) -> str:
    items = list(itertools.islice(value, MAX_OUTPUT + 1))
    _check_size(len(items) - 1, "join")
    if attribute is not None:
        items = list(map(filters.make_attrgetter(eval_ctx.environment, attribute), items))
    size = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        size += len(item) if isinstance(item, str) else len(str(item))
        _check_size(size, "join")
    return filters.sync_do_join(eval_ctx, items, d)


@pass_eval_context
def _replace(eval_ctx: EvalContext, s: str, old: str, new: str, count: int | None = None) -> str:
    s, old, new = str(s), str(old), str(new)
    times = s.count(old) if count is None or count < 0 else min(count, s.count(old))
    _check_size(len(s) + times * (len(new) - len(old)), "replace")
    return filters.do_replace(eval_ctx, s, old, new, count)


def _round(value: float, precision: int = 0, method: str = "common") -> float:
    # round(5, -10**9) computes 10**(10**9) first.
    if abs(precision) > 20:
        raise SecurityError("round() takes a precision between -20 and 20")
    return filters.do_round(value, precision, method)  # type: ignore[arg-type]


def _concat(values: list[Any]) -> str:
    """`a ~ b`, checked: what Jinja would join unchecked."""
    parts = [str(v) for v in values]
    _check_size(sum(len(p) for p in parts), "joining text with ~")
    return "".join(parts)


def _loop_items(value: Iterable[Any]) -> list[Any]:
    items = list(itertools.islice(value, MAX_RANGE + 1))
    if len(items) > MAX_RANGE:
        raise SecurityError(f"a loop may go over at most {MAX_RANGE} items")
    return items


@functools.cache
def _environment() -> _Sandbox:
    # Blocks are plain text; the HTML layout escapes them when it places them.
    env = _Sandbox(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    env.globals = {"range": _small_range}
    env.filters = {name: f for name, f in env.filters.items() if name in _FILTERS}
    env.filters.update(
        join=_join, replace=_replace, round=_round, _concat=_concat, _loop_items=_loop_items
    )
    return env


def _small_range(*args: int) -> range:
    result = range(*args)
    if len(result) > MAX_RANGE:
        raise SecurityError(f"range() may produce at most {MAX_RANGE} items")
    return result


def _check_statements(tree: nodes.Template, field: str) -> None:
    kinds: tuple[type[nodes.Node], ...] = (nodes.For, nodes.Name, *_STATEMENTS)
    for node in tree.find_all(kinds):
        problem = None
        code = Code.TEMPLATE_NOT_ALLOWED
        params = _where(field, node.lineno)
        if isinstance(node, nodes.For) and node.recursive:
            problem = "recursive loops are not allowed"
            params["statement"] = "for"
        elif isinstance(node, nodes.For) and next(iter(node.find_all(nodes.For)), None):
            problem = "loops inside loops are not allowed"
            params["statement"] = "for"
        elif isinstance(node, nodes.Name) and node.name == "self" and node.ctx == "load":
            # Jinja's own reference to the template, not a placeholder.
            problem, code = "unknown placeholder 'self'", Code.TEMPLATE_UNKNOWN_PLACEHOLDER
            params["placeholder"] = "self"
        elif type(node) in _STATEMENTS:
            problem = f"{{% {_STATEMENTS[type(node)]} %}} is not allowed in an email template"
            params["statement"] = _STATEMENTS[type(node)]
        if problem:
            raise Invalid(
                f"{_label(field)}, line {node.lineno}: {problem}.",
                code=code,
                params=params,
                field=field,
            )


class _Bounded(NodeTransformer):
    """Routes what Jinja computes unchecked through the checks: `~` and loop items."""

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, "_concat", [], [], None, None, lineno=node.lineno)

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "_loop_items", [], [], None, None, lineno=node.lineno)
        return node


def _label(field: str) -> str:
    return field.replace("_", " ").capitalize()


def _where(field: str, line: int | None) -> dict[str, str | int]:
    """The params that place a problem: the block, and its line when Jinja knows it."""
    return {"block": field} | ({"line": line} if line else {})


def _bounded(chunks: Iterator[str], field: str) -> str:
    out: list[str] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_OUTPUT:
            raise Invalid(
                f"{_label(field)} renders to more than {MAX_OUTPUT} characters; shorten it.",
                code=Code.TEMPLATE_TOO_LONG,
                params={"block": field, "max": MAX_OUTPUT},
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


@functools.lru_cache(maxsize=512)
def _compiled(source: str, field: str) -> Template:
    """The block checked and compiled; kept, because compiling took half of a draft's time and
    a company's templates are few. A source that fails raises, and nothing is kept."""
    env = _environment()
    tree = env.parse(source)
    _check_statements(tree, field)
    return env.from_string(_Bounded().visit(tree))


def render(source: str, context: Mapping[str, Any], *, field: str) -> str:
    """Render one block. Any problem is an `Invalid` that names the field, the line and the
    cause, e.g. "Subject, line 1: unknown placeholder 'order.numbr'"."""
    if len(source) > MAX_SOURCE:
        raise Invalid(
            f"{_label(field)} is longer than {MAX_SOURCE} characters.",
            code=Code.TEMPLATE_TOO_LONG,
            params={"block": field, "max": MAX_SOURCE},
            field=field,
        )
    try:
        template = _compiled(source, field)
        return _bounded(template.generate(dict(context)), field).strip()
    except TemplateSyntaxError as exc:
        raise Invalid(
            f"{_label(field)}, line {exc.lineno}: {exc.message}",
            code=Code.TEMPLATE_SYNTAX,
            # Jinja's message is English: for API clients; the UI explains the code instead.
            params={"block": field, "line": exc.lineno, "message": exc.message or ""},
            field=field,
        ) from None
    except UndefinedError as exc:
        unknown = _first_unknown(_environment().parse(source), context)
        line = unknown[1] if unknown else _line_of(exc)
        name = f"'{unknown[0]}'" if unknown else str(exc.message)
        at = f", line {line}" if line else ""
        raise Invalid(
            f"{_label(field)}{at}: unknown placeholder {name}.",
            code=Code.TEMPLATE_UNKNOWN_PLACEHOLDER,
            params=_where(field, line) | {"placeholder": name.strip("'")},
            field=field,
        ) from None
    except RecursionError:
        raise Invalid(
            f"{_label(field)}: nested too deeply.",
            code=Code.TEMPLATE_TOO_COSTLY,
            params={"block": field},
            field=field,
        ) from None
    # AssertionError: Jinja's own filters assert some arguments ('x'|truncate(-5)).
    except (
        SecurityError,
        TemplateError,
        ArithmeticError,
        TypeError,
        ValueError,
        AssertionError,
    ) as exc:
        where = _line_of(exc)
        at = f", line {where}" if where else ""
        raise Invalid(
            f"{_label(field)}{at}: not allowed: {exc}",
            code=Code.TEMPLATE_NOT_ALLOWED,
            params=_where(field, where) | {"message": str(exc)},
            field=field,
        ) from None


def render_all(sources: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """Render several blocks with one context; each field is noted as the step, so work over
    its budget names the field it was in."""
    rendered = {}
    for field, source in sources.items():
        note(field)
        rendered[field] = render(source, context, field=field)
    return rendered


_OVER = {
    "time": "takes too long to fill in",
    "memory": "needs more memory than a template may use",
    "depth": "is nested too deeply",
}


async def render_bounded(sources: Mapping[str, str], context: Mapping[str, Any]) -> dict[str, str]:
    """`render_all` in a worker process with the template budget (core/bounded.py), so that no
    template can stall the server or take its memory: over the budget is an `Invalid` naming
    the field."""
    settings = get_settings()
    budget = Budget(seconds=settings.template_seconds, memory_mb=settings.bounded_memory_mb)
    try:
        return await run_bounded(budget, render_all, dict(sources), dict(context))
    except OverBudget as over:
        field = over.step or next(iter(sources), "subject")
        raise Invalid(
            f"{_label(field)} {_OVER[over.reason]}: simplify its loops and filters.",
            code=Code.TEMPLATE_TOO_COSTLY,
            params={"block": field, "reason": over.reason},
            field=field,
        ) from None


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
