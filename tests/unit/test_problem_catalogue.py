"""Every refusal the library can send is worded on the screens, in both languages.

A service refuses with a stable code (``Refused("...", "copy_on_loan")``), the
gateway answers it as a problem document carrying that code, and the screens
word it from web/src/locales/<lang>/problems.json (web/src/errors.js). A code
with no entry there would reach a librarian as the server's English ``detail``:
so this test reads the code the way a person would grep it, from the source
(every ``Refused(..., "code")``, every ``code="..."``, the default codes of the
refusal classes, the gateway's problem types), and fails naming each code that
either language lacks.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ROOT / "web" / "src" / "locales"
LANGUAGES = ("zh-CN", "en")
SOURCES = ("services", "shared")
# Refusals every desk meets: if the scan stops finding these, the scan is broken.
KNOWN = {
    "reference_only",
    "copy_on_loan",
    "loan_limit",
    "overdue",
    "unpaid_loss",
    "card_blocked",
    "card_retired",
    "wrong_campus",
    "copy_in_transit",
    "unknown_copy",
    "no_card",
    "nothing_lent",
    "missing_right",
    "refused",
    "invalid_credentials",
    "not-found",
}


def python_files() -> Iterator[Path]:
    for folder in SOURCES:
        yield from sorted((ROOT / folder).rglob("*.py"))


def callee(node: ast.Call) -> str:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return ""


def text(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def code_positions(trees: list[ast.Module]) -> dict[str, int]:
    """Refusals taking a ``code`` parameter, by name: the position of ``code`` in a call
    (``Refused(message, code)``, ``_refusal(barcode, reason, code)``). Other callables'
    ``code`` (a classification in the demo's catalogue) is no refusal's."""
    positions: dict[str, int] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef):
                names = [a.arg for a in node.args.posonlyargs + node.args.args]
                if "code" in names and "refus" in node.name.lower():
                    positions[node.name] = names.index("code")
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and item.name == "__init__":
                        names = [a.arg for a in item.args.posonlyargs + item.args.args]
                        if "code" in names:
                            positions[node.name] = names.index("code") - 1  # self
    return positions


def defaults(tree: ast.Module) -> Iterator[str]:
    """Codes given when none is: ``code = "refused"`` on a class, ``code: str = "..."``;
    and the problem types (``slug``) the screens word when an answer has no code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for item in node.body:
                if isinstance(item, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id in ("code", "slug") for t in item.targets
                ):
                    if (value := text(item.value)) is not None:
                        yield value
                # The gateway's problem types: ``status, slug, title = 404, "not-found", ...``
                if (
                    isinstance(item, ast.Assign)
                    and isinstance(item.targets[0], ast.Tuple)
                    and isinstance(item.value, ast.Tuple)
                ):
                    for target, value in zip(item.targets[0].elts, item.value.elts, strict=False):
                        if isinstance(target, ast.Name) and target.id == "slug" and text(value):
                            yield str(text(value))
        if isinstance(node, ast.FunctionDef):
            arguments = node.args.posonlyargs + node.args.args
            for argument, default in zip(
                arguments[len(arguments) - len(node.args.defaults) :],
                node.args.defaults,
                strict=True,
            ):
                if argument.arg == "code" and (value := text(default)) is not None:
                    yield value


def sent_codes() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Every code the services and the gateway can send, with where; and the prefixes of
    codes built at run time (``"card_" + patron.status``)."""
    trees = {path: ast.parse(path.read_text(encoding="utf-8")) for path in python_files()}
    positions = code_positions(list(trees.values()))
    codes: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    for path, tree in trees.items():
        where = str(path.relative_to(ROOT))
        for code in defaults(tree):
            codes.setdefault(code, set()).add(where)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            given: list[ast.AST] = [k.value for k in node.keywords if k.arg == "code"]
            name = callee(node)
            index = positions.get(name, 1 if name.endswith("Refused") else None)
            if index is not None and len(node.args) > index:
                given.append(node.args[index])
            for value in given:
                at = f"{where}:{node.lineno}"
                if (code := text(value)) is not None:
                    codes.setdefault(code, set()).add(at)
                elif isinstance(value, ast.BinOp) and (prefix := text(value.left)) is not None:
                    prefixes.setdefault(prefix, set()).add(at)
    return codes, prefixes


def catalogue(language: str) -> dict[str, str]:
    return json.loads((LOCALES / language / "problems.json").read_text(encoding="utf-8"))


CODES, PREFIXES = sent_codes()


def test_the_scan_finds_the_refusals_of_the_desk():
    assert KNOWN <= set(CODES), f"not found in the source: {sorted(KNOWN - set(CODES))}"


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_code_the_library_sends_is_worded(language):
    words = catalogue(language)
    missing = {code: sorted(CODES[code])[0] for code in sorted(set(CODES) - set(words))}
    assert not missing, f"problems.json ({language}) lacks (code: where sent): {missing}"
    for prefix, where in PREFIXES.items():
        assert any(key.startswith(prefix) for key in words), (
            f"problems.json ({language}) words no code starting {prefix!r} ({sorted(where)[0]})"
        )


@pytest.mark.parametrize("language", LANGUAGES)
def test_refusals_are_worded_without_placeholders(language):
    """A problem document carries no values to fill in, so a ``{name}`` would show as is."""
    placed = [code for code, words in catalogue(language).items() if "{" in words or "@" in words]
    assert placed == []


def test_the_desk_speaks_the_librarians_words():
    """GLOSSARY.md's refusals, as a librarian says them at the desk."""
    words = catalogue("zh-CN")
    assert words["reference_only"] == "工具书不外借"
    assert words["copy_on_loan"] == "该书已借出"
    assert words["overdue"] == "有逾期未还图书，暂不能借书"
    assert words["unpaid_loss"] == "有丢失图书尚未赔偿"
    assert words["card_blocked"] == "借书证已停用"
    assert words["card_retired"] == "借书证已注销"
    assert words["copy_in_transit"] == "该书在途，尚未到馆"
    assert words["unknown_copy"] == "条码不存在"
    assert words["no_card"] == "借书证号不存在"
    assert words["loan_limit"].startswith("已达借阅上限")
