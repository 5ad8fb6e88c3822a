"""Helpers for the studio's AppTests (the fixtures that use them are in conftest.py)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from streamlit.testing.v1 import AppTest

from tape_studio.core.tape import Tape
from tape_studio.core.workspace import Workspace
from tape_studio.studio.runs import REGISTRY

ROOT = Path(__file__).resolve().parents[2]
PAGES = ROOT / "pages"
APP = str(ROOT / "studio" / "app.py")


@dataclass
class Demo:
    """The demo store and its 17*23 fork family: the original, the calculator edit, the plain rerun."""

    ws: Workspace
    tapes: int
    """How many tapes the demo store starts with."""
    original: Tape
    edited: Tape
    rerun: Tape


def page(name: str, **query: str) -> AppTest:
    """A page of the studio, run once with these query parameters."""
    at = AppTest.from_file(str(PAGES / f"{name}.py"), default_timeout=30)
    for key, value in query.items():
        at.query_params[key] = value
    return at.run()


def button(at: AppTest, label: str):  # type: ignore[no-untyped-def]
    """The first button whose label starts with `label`."""
    return next(b for b in at.button if b.label.startswith(label))


def shown_text(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.text, *at.code))


def finish_runs(at: AppTest) -> AppTest:
    """Waits for background runs, then redraws the page as its polling would."""
    REGISTRY.wait(30)
    return at.run()


def bodies(tape: Tape) -> list[dict]:  # type: ignore[type-arg]
    return [step.body() for step in tape.steps]


def unescaped(markdown: str) -> str:
    """A message as the browser shows it: without the escapes `studio.render.plain` added."""
    return re.sub(r"\\(.)", r"\1", markdown)
