"""Importers are bounded: YAML alias bombs, deep nesting, FIFOs, device links, oversized files,
repeated tape ids and bytes that are not UTF-8 each end in one line for that file, and the other
files of the same import still come in. Run as real `tape-studio` processes with a time and
memory limit, so a regression hangs or balloons a child, never the test session."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest
from reliability_helpers import ROOT

from tape_studio.core.interop.tape_files import dump_bundle
from tape_studio.core.store import Store
from tape_studio.core.tape import Tape, TapeMetadata, Task, Thought
from tape_studio.studio.data import import_uploads

GOOD = Tape(metadata=TapeMetadata(agent="qa", title="a good tape", status="completed"), steps=(Task(text="2+2?"),))
MEMORY_LIMIT = 1500 * 2**20


def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def tape_studio(*args: str | bytes, home: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAPE_STUDIO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    command: list[str | bytes] = [sys.executable, "-m", "tape_studio.studio.cli", *args]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False, timeout=timeout,
                          preexec_fn=_limits)


def one_clear_line(done: subprocess.CompletedProcess[str], *words: str) -> str:
    errors = [line for line in done.stderr.splitlines() if line.strip()]
    assert "Traceback" not in done.stderr and len(errors) == 1, done.stderr
    assert errors[0].startswith("tape-studio: error: ") and all(word in errors[0] for word in words), errors[0]
    return errors[0]


def alias_bomb(levels: int = 9) -> str:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]")
    return "\n".join(lines) + f"\nsteps: [{{kind: thought, text: boom, bomb: *a{levels - 1}}}]\n"


@pytest.fixture
def good(tmp_path: Path) -> Path:
    path = tmp_path / "zz-good.json"
    path.write_text(dump_bundle([GOOD], []))
    return path


def imported(home: Path) -> list[str]:
    return [row.id for row in Store(home / "store.sqlite").list_tapes()]


@pytest.mark.parametrize("name, text, words", [
    ("bomb.yaml", alias_bomb(), ("bomb.yaml", "alias")),
    ("loop.yaml", "&a [*a]\n", ("loop.yaml", "refers to itself")),
    ("deep.yaml", "[" * 5000 + "]" * 5000, ("deep.yaml", "nested")),
    ("deep.json", "[" * 100_000 + "]" * 100_000, ("deep.json", "nested")),
    ("deep-tape.json", json.dumps({"tapes": [{"metadata": {}, "steps": [], "context": json.loads("[" * 500 + "]" * 500)}]}),
     ("deep-tape.json", "nested")),
    ("surrogate.json", '{"tapes": [{"metadata": {"title": "\\ud800"}, "steps": []}]}', ("surrogate.json", "surrogate")),
])
def test_a_hostile_file_is_one_line_and_the_next_file_still_imports(
    name: str, text: str, words: tuple[str, ...], tmp_path: Path, good: Path
) -> None:
    bad = tmp_path / name
    bad.write_text(text)
    done = tape_studio("import", str(bad), str(good), home=tmp_path)
    assert done.returncode == 1
    one_clear_line(done, *words)
    assert imported(tmp_path) == [GOOD.id]


def test_only_regular_files_are_read(tmp_path: Path, good: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    os.mkfifo(folder / "fifo.json")  # reading it would wait forever for a writer
    (folder / "zero.json").symlink_to("/dev/zero")  # reading it would never end
    (folder / "good.json").symlink_to(good)  # a link to a regular file is followed
    done = tape_studio("import", str(folder), home=tmp_path, timeout=30)
    errors = [line for line in done.stderr.splitlines() if line]
    assert done.returncode == 1 and "Traceback" not in done.stderr and len(errors) == 2, done.stderr
    assert all("not a regular file" in line for line in errors)
    assert imported(tmp_path) == [GOOD.id]


def test_a_file_over_the_size_limit_is_refused_until_the_limit_is_raised(tmp_path: Path, good: Path) -> None:
    done = tape_studio("import", str(good), "--max-file-mb", "0.0001", home=tmp_path)
    assert done.returncode == 1 and imported(tmp_path) == []
    one_clear_line(done, "zz-good.json", "limit", "--max-file-mb")
    assert tape_studio("import", str(good), "--max-file-mb", "1", home=tmp_path).returncode == 0
    assert imported(tmp_path) == [GOOD.id]


def test_a_bundle_that_repeats_a_tape_id_is_refused_whole(tmp_path: Path) -> None:
    second = GOOD.model_copy(update={"steps": (*GOOD.steps, Thought(text="extra"))}).with_metadata(title="other")
    path = tmp_path / "twice.json"
    path.write_text(dump_bundle([GOOD, second], []))
    done = tape_studio("import", str(path), home=tmp_path)
    assert done.returncode == 1
    one_clear_line(done, "twice.json", repr(GOOD.id), "tapes[0]", "tapes[1]")
    assert imported(tmp_path) == []


def test_a_task_that_is_not_utf8_is_one_line(tmp_path: Path) -> None:
    done = tape_studio("run", "--agent", "qa", "--task", b"What is \xff?", home=tmp_path)
    assert done.returncode == 2
    one_clear_line(done, "--task", "UTF-8")


def test_the_data_page_import_reports_a_deep_file_in_one_line_and_imports_the_rest(tmp_path: Path) -> None:
    from tape_studio.core.workspace import Workspace

    class Upload:
        def __init__(self, name: str, data: str) -> None:
            self.name, self.data = name, data

        def getvalue(self) -> bytes:
            return self.data.encode()

    ws = Workspace(tmp_path / "store.sqlite", mode="replay")
    results = import_uploads(ws, [Upload("deep.json", "[" * 100_000 + "]" * 100_000),
                                  Upload("good.json", dump_bundle([GOOD], []))])
    assert isinstance(results[0], str) and "deep.json" in results[0] and "\n" not in results[0]
    assert not isinstance(results[1], str) and results[1].imported == [GOOD.id]
