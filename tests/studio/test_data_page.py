"""The Data page, run headless with AppTest: evaluate with a fake model, export, import an upload."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from tape_studio.core.demo import demo_files
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.settings import ModelSettings, save_settings
from tape_studio.core.store import Store
from tape_studio.core.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
DATA_PAGE = str(ROOT / "pages" / "data.py")
SAMPLES = ROOT / "tests" / "data" / "tapeagents"
HOSTILE = "<script>alert(1)</script>"


@pytest.fixture
def store(studio_store: Path) -> Path:
    return studio_store


@pytest.fixture
def demo_store(store: Path) -> Path:
    ws = Workspace(store)
    for file in demo_files():
        ws.import_file(file)
    ws.store.close()
    return store


def page() -> AppTest:
    return AppTest.from_file(DATA_PAGE, default_timeout=30).run()


def texts(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in (*at.text, *at.code))


def test_export_sft_offers_a_download(demo_store: Path) -> None:
    at = page()
    assert not at.exception
    at.selectbox(key="data_export_format").set_value("sft")
    at.selectbox(key="data_export_agent").set_value("qa")
    at.checkbox(key="data_export_successful").check()
    at.button(key="data_export_prepare").click().run()
    assert not at.exception
    assert "sft: 16 records from 8 tapes" in texts(at)
    assert at.get("download_button")[0].proto.label == "Download sft.jsonl"


def test_export_dpo_lists_what_it_skipped(demo_store: Path) -> None:
    at = page()
    at.selectbox(key="data_export_format").set_value("dpo")
    at.button(key="data_export_prepare").click().run()
    assert not at.exception
    assert "1 ties skipped" in texts(at)
    skipped = at.dataframe[0].value
    assert "continue the same way" in skipped["reason"][0]


def test_export_with_nothing_selected_says_so(demo_store: Path) -> None:
    at = page()
    at.text_input(key="data_export_tags").input("no-such-tag")
    at.button(key="data_export_prepare").click().run()
    assert not at.exception and "no stored tape matches the selection" in texts(at)


def test_import_an_uploaded_tapeagents_file_shows_fidelity(store: Path) -> None:
    at = page()
    at.file_uploader(key="data_import_files").set_value(
        ("single.json", (SAMPLES / "single.json").read_bytes(), "application/json")).run()
    at.button(key="data_import_button").click().run()
    assert not at.exception
    assert "single.json: tapeagents: 1 tapes, 7 steps" in texts(at)
    assert Store(store).has_tape("ta-tape-1")


def test_import_an_uploaded_bad_file_shows_one_line_and_imports_nothing(store: Path) -> None:
    bad = json.dumps([{"steps": [{"kind": "user", "content": HOSTILE}, {"content": "no kind"}]}]).encode()
    at = page()
    at.file_uploader(key="data_import_files").set_value(("bad.json", bad, "application/json")).run()
    at.button(key="data_import_button").click().run()
    assert not at.exception
    assert "bad.json: [0].steps[1]: missing field 'kind'" in texts(at)
    assert Store(store).count_tapes() == 0
    assert all(HOSTILE not in str(m.value) for m in at.markdown)


def _qa_fake(answer: str) -> str:
    """A fake model for the qa agent that looks facts up and then answers `answer`, or the fact's first word."""

    def respond(messages: list[dict], params: dict) -> str:
        if "choosing one tool" in messages[0]["content"]:
            question = messages[-1]["content"].removeprefix("Question: ")
            return json.dumps({"thought": "Look it up.", "tool": "lookup", "input": question})
        return json.dumps({"answer": answer})

    return register_fake(f"data-page-{answer}", respond)


def test_evaluate_twice_and_compare_the_two(store: Path) -> None:
    ws = Workspace(store)
    save_settings(ws.store, ModelSettings(model=_qa_fake("Rome"), llm_mode="live"))
    at = page()
    at.selectbox(key="data_eval_agent").set_value("qa")
    at.selectbox(key="data_eval_dataset").set_value("qa-mini")
    at.selectbox(key="data_eval_split").set_value("val")
    at.button(key="data_eval_run").click().run()
    assert not at.exception
    bar = at.get("progress")[0].proto
    assert bar.value == 100 and bar.text.startswith("6 of 6 examples · running score 0.17 · ")  # the bar ends full
    table = at.dataframe[0].value
    assert list(table["examples"]) == [6] and table["mean"][0] > 0  # "Rome" is right for one question
    assert ws.store.count_tapes() == 6 and all(row.score is not None for row in ws.store.list_tapes())
    save_settings(ws.store, ModelSettings(model=_qa_fake("nothing"), llm_mode="live"))
    at.button(key="data_eval_run").click().run()
    assert not at.exception
    assert len(at.dataframe[0].value) == 2
    changes = at.dataframe[1].value
    assert changes["change"][0] == "regressed" and changes["example"][0] == "qa-val-1"
    assert "0 improved, 1 regressed, 5 unchanged" in texts(at)
