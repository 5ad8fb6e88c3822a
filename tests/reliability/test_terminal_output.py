"""Human CLI output shows control characters in tape text as escapes, so a hostile title cannot
drive the terminal; JSON output stays exact."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.studio.cli import main
from tape_studio.studio.terminal import clean

HOSTILE = "red\x1b[31m\x1b]0;owned\x07 nul\x00 bidi\u202eevil\r\nforged line\x9b"


@pytest.fixture
def store(tmp_path: Path) -> tuple[Path, Tape]:
    tape = Tape(metadata=TapeMetadata(agent="qa\x1b[2J", title=HOSTILE, status="completed"), steps=(
        Task(text=HOSTILE), Thought(text=HOSTILE, metadata=StepMetadata(node="plan\x1b[1m", agent="qa"))))
    path = tmp_path / "store.sqlite"
    Store(path).save_tape(tape)
    return path, tape


@pytest.mark.parametrize("command", ["list", "show"])
def test_list_and_show_escape_control_characters(
    command: str, store: tuple[Path, Tape], capsys: pytest.CaptureFixture[str]
) -> None:
    path, tape = store
    assert main([command, *([tape.id] if command == "show" else []), "--store", str(path)]) == 0
    out = capsys.readouterr().out
    raw = [char for char in out if char not in "\n" and (ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0)]
    assert raw == [] and "\u202e" not in out
    assert "\\x1b[31m" in out and "\\u202e" in out and "\\r\\nforged line" in out
    assert all(not line.startswith("forged line") for line in out.splitlines())


def test_json_output_stays_exact(store: tuple[Path, Tape], capsys: pytest.CaptureFixture[str]) -> None:
    path, tape = store
    assert main(["show", tape.id, "--json", "--store", str(path)]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["metadata"]["title"] == HOSTILE and shown["steps"][1]["text"] == HOSTILE


def test_an_error_message_keeps_its_lines_but_escapes_the_rest() -> None:
    assert clean("diff:\n-a\x1b[0m\n+b", keep_newlines=True) == "diff:\n-a\\x1b[0m\n+b"
    assert clean("tab\there\x00") == "tab\\there\\x00"
