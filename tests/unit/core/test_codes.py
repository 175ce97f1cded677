"""The problem codes' registry (core/codes.py) against the code that raises them and the UI
that words them: every code has its text in each of the four catalogues, every refusal the
code base makes names a registered code, and the registry holds no code nobody raises."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from organisatrice.core import errors
from organisatrice.core.codes import Code, HistoryCode
from organisatrice.orders.row_reasons import ROW_REASONS

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "organisatrice"
CATALOGUES = ROOT / "frontend" / "src" / "lib" / "i18n"
LANGUAGES = ("de", "fr", "it", "en")


def _error_classes() -> set[str]:
    return {
        name
        for name, value in vars(errors).items()
        if isinstance(value, type) and issubclass(value, errors.DomainError)
    }


def _sources() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(), filename=str(path)))
        for path in sorted(PACKAGE.rglob("*.py"))
        if "piccolo_migrations" not in path.parts
    ]


def _keys(language: str, prefix: str) -> set[str]:
    text = (CATALOGUES / f"{language}.ts").read_text()
    return set(re.findall(rf'^\s*"{prefix}\.(\w+)":', text, re.MULTILINE))


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_has_its_words_in_each_catalogue(language: str) -> None:
    problems = _keys(language, "problem")
    lines = _keys(language, "history")
    missing = [f"problem.{c.value}" for c in Code if c.value not in problems] + [
        f"history.{c.value}" for c in HistoryCode if c.value not in lines
    ]
    assert missing == [], f"{language}.ts lacks {missing}"


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def test_every_refusal_made_names_a_registered_code() -> None:
    classes = _error_classes()
    unnamed, unknown = [], []
    made = 0
    for path, tree in _sources():
        if path.name == "errors.py" and path.parent.name == "core":
            continue
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or _called_name(node) not in classes:
                continue
            made += 1
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            code = next((k.value for k in node.keywords if k.arg == "code"), None)
            if code is None:
                unnamed.append(where)
            elif (
                isinstance(code, ast.Attribute)
                and isinstance(code.value, ast.Name)
                and code.value.id == "Code"
                and code.attr not in Code.__members__
            ):
                unknown.append(f"{where} Code.{code.attr}")
    # A code passed on as a value (a decision's, a worker's) is typed `Code`: mypy checks it.
    assert made > 100, "the scan found too few refusals to be looking at the code base"
    assert unnamed == [], f"refusals without a code: {unnamed}"
    assert unknown == [], f"codes not in the registry: {unknown}"


def test_every_registered_code_is_raised_somewhere() -> None:
    used = {
        node.attr
        for _, tree in _sources()
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "Code"
    }
    assert sorted(set(Code.__members__) - used) == []


def test_a_refusal_cannot_be_made_without_a_code() -> None:
    with pytest.raises(TypeError):
        errors.Invalid("No code.")  # type: ignore[call-arg]


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_row_reason_has_its_words_in_each_catalogue(language: str) -> None:
    # A refused import row is worded on the screen from its reason (orders/row_reasons.py).
    worded = _keys(language, "rowReason")
    assert sorted(set(ROW_REASONS) - worded) == [], f"{language}.ts lacks rowReason texts"
