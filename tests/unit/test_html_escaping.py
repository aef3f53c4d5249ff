"""HTML is written by autoescaped templates (Jinja2, autoescape on), never by hand: no product module imports an
escaping helper or builds tags in an f-string (or with ``%``, ``.format`` or ``+``), so a value is escaped because
escaping is the default, not because someone remembered. The only exceptions are XML builders, each named below
with its reason (XML, not HTML: no template engine of ours writes it).

Read from the source with ``ast``, so a module is held to it the day it lands.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# The product's code: what is deployed (layers, functions, the sandbox bank) and what `make run` serves.
PRODUCT = (
    "layers/sealing/sealing",
    "layers/orders/orders",
    "functions",
    "stacktools",
    "simulator/sandbox/chalicelib",
    "simulator/sandbox/app.py",
    "simulator/sandbox/serve.py",
    "simulator/shop",
    "simulator/local",
    "simulator/devhttp",
)
# (module, function) -> why it builds markup by hand. XML only: HTML has templates.
XML_BUILDERS = {
    ("simulator/sandbox/chalicelib/backoffice.py", "_xml"): (
        "the bank's XML answer to etatpaiement.cgi, as the bank writes it; its values escaped with xml.sax.saxutils"
    ),
}
HTML_ESCAPES = {"html.escape", "markupsafe.escape", "markupsafe.Markup.escape"}
XML_ESCAPES = {"xml.sax.saxutils.escape", "xml.sax.saxutils.quoteattr"}
_ELEMENTS = (
    "a|b|i|em|strong|small|code|pre|p|br|hr|div|span|h[1-6]|ul|ol|li|dl|dt|dd|table|thead|tbody|tr|th|td|form|"
    "input|button|select|option|label|textarea|img|iframe|script|style|link|meta|title|html|head|body|nav|main|"
    "header|footer|section|article"
)
# A tag: a closing one, a doctype, a tag with an attribute value, or a common bare element. An XML declaration
# alone is not one: ElementTree's output after it is escaped by ElementTree.
MARKUP = re.compile(
    rf"</[A-Za-z][\w:.-]*\s*>|<!doctype|<[A-Za-z][\w:.-]*\s[^<>]*=|<(?:{_ELEMENTS})\s*/?>", re.IGNORECASE
)
FILLED = "x"  # what an f-string's placeholder stands for when its text is read (``<{name}>`` is a tag)


@dataclass(frozen=True)
class Finding:
    module: str
    function: str  # the enclosing function's qualified name, "" at module level
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.module}:{self.line} ({self.function or 'module'}): {self.what}"


def _text(node: ast.expr) -> str | None:
    """A string's text as written in the source, its f-string placeholders filled; None if not a string."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(part.value if isinstance(part, ast.Constant) else FILLED for part in node.values)
    return None


def _is_markup(node: ast.expr, constants: dict[str, str]) -> bool:
    text = _text(node)
    if text is None and isinstance(node, ast.Name):
        text = constants.get(node.id)
    return text is not None and MARKUP.search(text) is not None


class _Reader(ast.NodeVisitor):
    def __init__(self, module: str, tree: ast.Module) -> None:
        self.module = module
        self.findings: list[Finding] = []
        self._scope: list[str] = []  # the enclosing classes and functions
        self._names: dict[str, str] = {}  # local name -> the dotted name it was imported as
        # Module-level string constants, for ``PAGE.format(...)`` and ``PAGE % ...``.
        self._constants = {
            target.id: text
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name) and (text := _text(statement.value)) is not None
        }

    def _find(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(self.module, ".".join(self._scope), getattr(node, "lineno", 0), what))

    def _scoped(self, node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> None:
        self._scope.append(node.name)
        self.generic_visit(node)
        self._scope.pop()

    visit_FunctionDef = visit_AsyncFunctionDef = visit_ClassDef = _scoped

    def _used(self, node: ast.AST, dotted: str) -> None:
        if dotted in HTML_ESCAPES | XML_ESCAPES:
            self._find(node, f"uses {dotted}")

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:  # import a.b as c: c is a.b
                self._names[alias.asname] = alias.name
            else:  # import a.b: a is a
                top = alias.name.split(".")[0]
                self._names[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            dotted = f"{node.module}.{alias.name}"
            self._names[alias.asname or alias.name] = dotted
            self._used(node, dotted)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        parts, base = [node.attr], node.value
        while isinstance(base, ast.Attribute):
            parts.append(base.attr)
            base = base.value
        if isinstance(base, ast.Name) and base.id in self._names:
            self._used(node, ".".join([self._names[base.id], *reversed(parts)]))
        self.generic_visit(node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> None:
        if _is_markup(node, {}):
            self._find(node, "builds markup in an f-string")
        self.generic_visit(node)

    def visit_BinOp(self, node: ast.BinOp) -> None:
        constant = [side for side in (node.left, node.right) if isinstance(side, ast.Constant | ast.Name)]
        if isinstance(node.op, ast.Mod | ast.Add) and any(_is_markup(side, self._constants) for side in constant):
            self._find(node, f"builds markup with {'%' if isinstance(node.op, ast.Mod) else '+'}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "format" and _is_markup(func.value, self._constants):
            self._find(node, "builds markup with str.format")
        self.generic_visit(node)


def findings(path: Path, root: Path = ROOT) -> list[Finding]:
    module = str(path.relative_to(root))
    tree = ast.parse(path.read_text(encoding="utf-8"), module)
    reader = _Reader(module, tree)
    reader.visit(tree)
    return reader.findings


def product_modules() -> Iterator[Path]:
    for entry in PRODUCT:
        path = ROOT / entry
        yield from [path] if path.suffix == ".py" else sorted(p for p in path.rglob("*.py") if "vendor" not in p.parts)


def _allowed(finding: Finding, xml_modules: set[str]) -> bool:
    if (finding.module, finding.function) in XML_BUILDERS and "markup" in finding.what:
        return True
    return finding.module in xml_modules and finding.what.removeprefix("uses ") in XML_ESCAPES


def test_no_product_module_escapes_or_builds_html_by_hand() -> None:
    xml_modules = {module for module, _ in XML_BUILDERS}
    modules = list(product_modules())
    assert len(modules) > 50
    found = [str(f) for path in modules for f in findings(path) if not _allowed(f, xml_modules)]
    assert found == [], "write these in an autoescaped template:\n" + "\n".join(found)


def test_every_xml_builder_named_still_builds_xml() -> None:
    # A name left behind would let HTML built by hand into that function unseen.
    for (module, function), reason in XML_BUILDERS.items():
        assert reason
        built = [f for f in findings(ROOT / module) if f.function == function and "markup" in f.what]
        assert built, f"{module}: {function} builds no markup any more: remove it from XML_BUILDERS"


SAMPLE = """
import html
import markupsafe as ms
from html import escape
from markupsafe import Markup
from xml.sax import saxutils
import xml.sax.saxutils

PAGE = "<html><body>{body}</body></html>"


def page(name, rows):
    cells = "".join(f"<td>{html.escape(r)}</td>" for r in rows)
    title = f'<h1 class="title">{escape(name)}</h1>' + ms.escape(name) + Markup.escape(name)
    tag = f"<{name}>{saxutils.escape(name)}</{name}>" + xml.sax.saxutils.quoteattr(name)
    return PAGE.format(body=cells + title) + "<p>%s</p>" % name + "<br>" + name


def not_html(where, reference):
    from html import unescape
    return [
        f"{where}: Queue must be !GetAtt <a queue of the template>.Arn",
        f"/orders/<reference>/{reference}",
        f"{where} < {reference} > 2",
        unescape(reference),
        "<p>a constant in a template's test</p>",
    ]
"""


def test_the_check_finds_each_way_of_writing_html_by_hand(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(SAMPLE)
    found = [(f.line, f.function, f.what) for f in findings(sample, tmp_path)]
    assert found == [
        (4, "", "uses html.escape"),
        (13, "page", "builds markup in an f-string"),
        (13, "page", "uses html.escape"),
        (14, "page", "builds markup in an f-string"),
        (14, "page", "uses markupsafe.escape"),
        (14, "page", "uses markupsafe.Markup.escape"),
        (15, "page", "builds markup in an f-string"),
        (15, "page", "uses xml.sax.saxutils.escape"),
        (15, "page", "uses xml.sax.saxutils.quoteattr"),
        (16, "page", "builds markup with +"),
        (16, "page", "builds markup with str.format"),
        (16, "page", "builds markup with %"),
    ]
    not_html = [f for f in findings(sample, tmp_path) if f.function == "not_html"]
    assert not_html == []
