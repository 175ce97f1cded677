"""render: a template's block filled from an order, in a sandbox. An unknown placeholder, a
syntax error, an escape from the sandbox or a template that would eat memory or CPU is refused
with the field and, where there is one, the line. Pure: no database, no HTTP."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from organisatrice.compose.context import OrderContext
from organisatrice.compose.rendering import MAX_OUTPUT, placeholders, render
from organisatrice.compose.samples import sample_context
from organisatrice.core.errors import Invalid


@pytest.fixture(scope="module")
def context() -> dict[str, Any]:
    data: dict[str, Any] = msgspec.to_builtins(sample_context("de"))
    return data


def refusal(source: str, context: dict[str, Any], field: str = "motivation") -> str:
    with pytest.raises(Invalid) as refused:
        render(source, context, field=field)
    assert refused.value.field == field
    return refused.value.detail


def test_placeholders_render_with_the_orders_values(context: dict[str, Any]) -> None:
    source = (
        "{{ greeting }}\n"
        "Auftrag {{ order.number }} für {{ client.name }}, {{ building.address }}.\n"
        "{{ employee.first_name }}, {{ company.phone }}"
    )
    assert render(source, context, field="motivation") == (
        "Sehr geehrte Frau Meier,\n"
        "Auftrag 2026-4711 für Immobilien Müller AG, Bahnhofstrasse 12, 8001 Zürich.\n"
        "Lea, +41 44 123 45 67"
    )


def test_a_loop_over_the_work_items_and_ordinary_filters_render(context: dict[str, Any]) -> None:
    source = (
        "{% for w in order.work_items %}{{ loop.index }}. {{ w.description }} "
        "({{ w.hours|round(1) }} h){% endfor %} / "
        "{{ order.work_items|map(attribute='technician')|join(', ') }} / "
        "{{ client.name|replace('AG', 'SA')|upper }} / {{ 'Nr. ' ~ order.number }}"
    )
    assert render(source, context, field="motivation") == (
        "1. Brenner gereinigt, Abgaswerte gemessen (2.5 h) / Tom Roth / "
        "IMMOBILIEN MÜLLER SA / Nr. 2026-4711"
    )


def test_unknown_placeholder_is_named_with_field_and_line(context: dict[str, Any]) -> None:
    detail = refusal("Guten Tag\n\nAuftrag {{ order.numbr }}", context, field="subject")
    assert detail == "Subject, line 3: unknown placeholder 'order.numbr'."


def test_unknown_top_level_placeholder_is_named(context: dict[str, Any]) -> None:
    assert "unknown placeholder 'kunde.name'" in refusal("{{ kunde.name }}", context)


def test_syntax_error_names_its_line(context: dict[str, Any]) -> None:
    detail = refusal("Zeile eins\n{{ order.number ", context, field="closing")
    assert detail.startswith("Closing, line 2: ")


def test_unclosed_block_is_a_syntax_error(context: dict[str, Any]) -> None:
    detail = refusal("{% if order.number %}\nja", context)
    assert detail.startswith("Motivation, line ")
    assert "endif" in detail


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__ }}",
        "{{ lipsum.__globals__ }}",
        "{{ self }}",
        "{{ self.__init__.__globals__ }}",
        "{{ order.__class__ }}",
        "{{ order['__class__'] }}",
        "{{ order|attr('__class__') }}",
        "{{ order.number.__class__.__base__ }}",
        "{{ range.__self__ }}",
        "{{ '{0.__class__}'.format(order) }}",
        "{{ config }}",
        "{{ request }}",
    ],
)
def test_sandbox_escape_is_refused(context: dict[str, Any], source: str) -> None:
    detail = refusal(f"Guten Tag\n{source}", context)
    assert detail.startswith("Motivation, line 2: ")


# Each would take a gigabyte, or minutes, unchecked. `|length` keeps the output short, so it is
# the computation itself that must be refused, not the rendered size.
@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 10**9 }}",
        "{{ ['x'] * 10**9 }}",
        "{{ order.work_items * 10**6 }}",
        "{{ range(10**9)|list }}",
        "{{ 2**10**10 }}",
        "{{ 2**(10**10) }}",
        "{{ 9**99**99**99 > 0 }}",
        "{{ 'x'.ljust(10**8)|length }}",
        "{{ 'x'|center(10**8)|length }}",
        "{{ '%*s'|format(10**8, 'x')|length }}",
        "{{ ('%100000000s' % 'x')|length }}",
        "{{ '{0:>100000000}'.format('x')|length }}",
        "{{ range(1000)|join('x' * 20000)|length }}",
        "{{ ('x' * 2000)|replace('x', 'y' * 2000)|length }}",
        "{{ (('x' * 15000) ~ ('y' * 15000))|length }}",
        "{{ (('x' * 15000) + ('y' * 15000))|length }}",
        "{{ 5|round(-1000) }}",
        "{{ ('%' * 20000)|urlencode|urlencode|urlencode|length }}",
    ],
)
def test_expression_that_would_eat_memory_or_cpu_is_refused(
    context: dict[str, Any], source: str
) -> None:
    detail = refusal(source, context)
    assert detail.startswith("Motivation, line 1: ")


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        (
            "{% for a in range(1000) %}\n{% for b in range(1000) %}x{% endfor %}{% endfor %}",
            "loops inside loops are not allowed",
        ),
        ("{% for x in [1] recursive %}{{ loop([1, 1]) }}{% endfor %}", "recursive loops"),
        ("{% set s = 'x' * 20000 %}{% set s = s ~ s %}{{ s }}", "{% set %} is not allowed"),
        ("{% with s = 'x' * 20000 %}{{ s ~ s }}{% endwith %}", "{% with %} is not allowed"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "{% macro %} is not allowed"),
        ("{% include 'other.txt' %}", "{% include %} is not allowed"),
        ("{% for c in 'x' * 20000 %}{{ c }}{% endfor %}", "at most 1000 items"),
    ],
)
def test_loops_and_statements_that_multiply_work_are_refused(
    context: dict[str, Any], source: str, reason: str
) -> None:
    detail = refusal(source, context)
    assert detail.startswith("Motivation, line 1: ")
    assert reason in detail


def test_loop_that_outputs_too_much_is_stopped(context: dict[str, Any]) -> None:
    source = "{% for i in range(1000) %}{{ 'Zeile ' * 10 }}{{ order.number }}\n{% endfor %}"
    detail = refusal(source, context)
    assert detail == f"Motivation renders to more than {MAX_OUTPUT} characters; shorten it."


@pytest.mark.parametrize(
    "source",
    ["{{ 1 / 0 }}", "{{ 'a'|truncate(-5) }}", "{{ [1, 'a']|sort }}", "{{ 'abc'.index('z') }}"],
)
def test_error_while_rendering_is_refused_not_crashed(context: dict[str, Any], source: str) -> None:
    assert refusal(f"\n{source}", context).startswith("Motivation, line 2: not allowed: ")


def test_deeply_nested_expression_is_refused_not_crashed(context: dict[str, Any]) -> None:
    detail = refusal("{{ " + "(" * 2000 + "1" + ")" * 2000 + " }}", context)
    assert "nested too deeply" in detail


@pytest.mark.parametrize(
    ("source", "code"),
    [
        ("{{ order.numbr }}", "template_unknown_placeholder"),
        ("{{ self }}", "template_unknown_placeholder"),
        ("{{ order.number ", "template_syntax"),
        ("{% set x = 1 %}", "template_not_allowed"),
        ("{{ ''.__class__ }}", "template_not_allowed"),
        ("x" * 10_001, "template_too_long"),
    ],
)
def test_each_refusal_names_its_problem_by_code(
    context: dict[str, Any], source: str, code: str
) -> None:
    with pytest.raises(Invalid) as refused:
        render(source, context, field="motivation")
    assert refused.value.code == code


def test_too_long_source_is_refused(context: dict[str, Any]) -> None:
    assert "longer than" in refusal("x" * 10_001, context)


def test_placeholder_list_offers_what_the_editor_needs() -> None:
    names = placeholders(OrderContext)
    for name in (
        "order.number",
        "client.name",
        "contact.last_name",
        "building.address",
        "employee.first_name",
        "company.phone",
        "greeting",
    ):
        assert name in names
    # Lists are looped over, not placed.
    assert "order.work_items" not in names
