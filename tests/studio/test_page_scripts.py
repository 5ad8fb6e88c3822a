"""Page scripts run under Streamlit's magic, which draws every bare expression: a docstring under a
constant (as once on the Data page) ends up on screen. Only the module docstring may be bare."""

from __future__ import annotations

import ast

import pytest
from studio_helpers import PAGES


@pytest.mark.parametrize("path", sorted(PAGES.glob("*.py")), ids=lambda p: p.name)
def test_a_page_has_no_bare_expression_but_its_docstring(path) -> None:  # type: ignore[no-untyped-def]
    tree = ast.parse(path.read_text())
    bare = [node.lineno for node in tree.body[1:] if isinstance(node, ast.Expr)
            and not isinstance(node.value, (ast.Call, ast.Await, ast.Yield))]
    assert bare == [], f"{path.name}: bare expressions at lines {bare} would be drawn on the page"
