"""`tape-studio import` auto-detects formats and prints fidelity; `export --format` writes each format."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tape_studio.core.demo import demo_files
from tape_studio.core.interop.formats import detect
from tape_studio.studio.cli import main

SAMPLES = Path(__file__).resolve().parent / "data" / "tapeagents"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    folder = tmp_path / "runs"
    shutil.copytree(SAMPLES, folder)
    with sqlite3.connect(folder / "tapedata.sqlite") as conn:
        conn.executescript((folder / "tapedata.sql").read_text())
    return folder


@pytest.fixture
def demo_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> str:
    store = str(tmp_path / "demo.sqlite")
    assert cli(capsys, "import", *map(str, demo_files()), "--store", store)[0] == 0
    return store


def test_import_of_a_tapeagents_folder_prints_the_fidelity_report(capsys, runs: Path, tmp_path: Path) -> None:
    code, out, err = cli(capsys, "import", str(runs), "--store", str(tmp_path / "s.sqlite"))
    assert code == 0, err
    assert "single.json: imported 1 tapes (7 steps, 3 LLM calls)" in out
    assert "tapeagents: 1 tapes, 7 steps (2 action, 2 observation, 1 stop, 2 thought), 7 generic, " \
           "3 LLM calls linked to 4 steps; dropped: nothing" in out
    assert "stream.yaml: imported 2 tapes" in out and "+ 1 nested as context" in out
    assert "repaired: [0]: 3 repeated step ids made unique" in out


def test_import_json_carries_the_fidelity_report(capsys, runs: Path, tmp_path: Path) -> None:
    _, out, _ = cli(capsys, "import", str(runs / "single.json"), "--store", str(tmp_path / "s.sqlite"), "--json")
    report = json.loads(out)["imported"][0]
    assert report["format"] == "tapeagents"
    assert report["fidelity"]["steps_by_family"] == {"observation": 2, "thought": 2, "action": 2, "stop": 1}
    assert report["fidelity"]["dropped"] == []


def test_export_sft_with_filters_writes_jsonl(capsys, demo_store: str, tmp_path: Path) -> None:
    out_file = tmp_path / "sft.jsonl"
    code, out, _ = cli(capsys, "export", "--format", "sft", "--agent", "qa", "--successful", "--out", str(out_file),
                       "--store", demo_store)
    assert code == 0 and "sft: 16 records from 8 tapes" in out
    records = [json.loads(line) for line in out_file.read_text().splitlines()]
    assert len(records) == 16 and all(r["messages"][-1]["role"] == "assistant" for r in records)


def test_export_dpo_reports_ties_and_skipped_pairs(capsys, demo_store: str, tmp_path: Path) -> None:
    code, out, _ = cli(capsys, "export", "--format", "dpo", "--out", str(tmp_path / "dpo.jsonl"), "--store", demo_store)
    assert code == 0 and "1 ties skipped" in out
    assert "not exported: tape 2ea2a224499b401a8fb8172d36813a5f steps fork point 2: both tapes continue" in out


def test_export_otel_then_import_gives_the_same_tapes(capsys, demo_store: str, tmp_path: Path) -> None:
    traces = tmp_path / "traces.json"
    assert cli(capsys, "export", "--format", "otel", "--out", str(traces), "--store", demo_store)[0] == 0
    assert detect(json.loads(traces.read_text())) == "otlp"
    fresh = str(tmp_path / "fresh.sqlite")
    code, out, _ = cli(capsys, "import", str(traces), "--store", fresh)
    assert code == 0 and "otlp: 12 tapes" in out
    for row in json.loads(cli(capsys, "list", "--json", "--store", demo_store)[1]):
        original = cli(capsys, "show", row["id"], "--json", "--store", demo_store)[1]
        assert cli(capsys, "show", row["id"], "--json", "--store", fresh)[1] == original


def test_export_of_nothing_is_a_one_line_error(capsys, demo_store: str, tmp_path: Path) -> None:
    code, _, err = cli(capsys, "export", "--tag", "none", "--format", "sft", "--out", str(tmp_path / "x"),
                       "--store", demo_store)
    assert code == 2 and err.strip() == "tape-studio: error: no stored tape matches the selection"


def test_detects_our_bare_tapes_and_theirs() -> None:
    ours = {"metadata": {"id": "x", "created_at": "2024-01-01T00:00:00Z", "status": "new"}, "steps": []}
    theirs = {"metadata": {"id": "x", "author": "a"}, "steps": []}
    assert detect(ours) == "tape-studio" and detect([ours]) == "tape-studio"
    assert detect(theirs) == "tapeagents" and detect([ours, theirs]) == "tapeagents"
    assert detect({"tapes": []}) == "tape-studio" and detect({"resourceSpans": []}) == "otlp"
