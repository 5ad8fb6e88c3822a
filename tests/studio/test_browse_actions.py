"""The Browse page: filters, deep links, multi-select to compare, export and delete, family tree."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest
from studio_helpers import APP, Demo, button, shown_text, unescaped

from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.store import TapeFilter
from tape_studio.studio.selection import bundle_bytes
from tape_studio.studio.state import CURSOR, DELETE_PENDING


def browse() -> AppTest:
    return AppTest.from_file(APP, default_timeout=30).run()


def titles(at: AppTest) -> list[str]:
    return list(at.dataframe(key="browse_table").value["title"])


def select(at: AppTest, *rows: int) -> AppTest:
    at.session_state["browse_table"] = {"selection": {"rows": list(rows), "columns": [], "cells": []}}
    return at.run()


def row_of(at: AppTest, tape_id: str) -> int:
    return list(at.dataframe(key="browse_table").value["id"]).index(tape_id)


def test_a_deep_link_opens_the_tape_page(demo: Demo) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["tape"] = demo.original.id
    at.run()
    assert not at.exception
    assert any("This is arithmetic." in b.label for b in at.button) and at.title[0].value == "Tape"  # its step line


def test_a_deep_link_with_a_step_opens_the_tape_page_at_that_step(demo: Demo) -> None:
    at = AppTest.from_file(APP, default_timeout=30)
    at.query_params["tape"], at.query_params["step"] = demo.original.id, "2"
    at.run()
    assert not at.exception
    assert at.session_state[CURSOR] == 2 and at.query_params["step"] == "2"
    assert any(m.value.startswith("**Step 2**") for m in at.markdown)


def test_filters_by_error_score_and_date(demo: Demo) -> None:
    at = browse()
    shown = demo.ws.store.count_tapes(TapeFilter(without_tag="training-record"))
    assert len(titles(at)) == min(shown, 50)
    at.selectbox(key="browse_errors").select("with an error").run()
    failed = {t.id for t in demo.ws.store.list_tapes(TapeFilter(has_error=True, without_tag="training-record"))}
    assert "What is the capital of Italy?" in titles(at)  # the demo tape with a misnamed model
    assert set(at.dataframe(key="browse_table").value["id"]) == failed and len(failed) < demo.tapes
    at.selectbox(key="browse_errors").select(None).run()
    demo.ws.store.set_score(demo.original.id, 0.8)
    at.number_input(key="browse_min_score").set_value(0.5).run()
    assert list(at.dataframe(key="browse_table").value["id"]) == [demo.original.id]
    at.number_input(key="browse_min_score").set_value(None).run()
    tomorrow = date.today() + timedelta(days=2)
    at.date_input(key="browse_dates").set_value((tomorrow, tomorrow)).run()
    assert not at.exception and "No tape matches" in at.info[0].value


def test_search_runs_over_step_text(demo: Demo) -> None:
    at = browse()
    at.text_input(key="browse_text").input("nothing found for '17*23'").run()
    assert set(at.dataframe(key="browse_table").value["id"]) == {demo.original.id, demo.rerun.id}


def test_two_selected_tapes_open_in_compare(demo: Demo) -> None:
    at = browse()
    select(at, row_of(at, demo.original.id), row_of(at, demo.edited.id))
    button(at, "Compare").click().run()
    assert not at.exception
    assert at.title[0].value == "Compare" and unescaped(at.warning[0].value).startswith("First divergence: step 2")


def test_compare_needs_exactly_two(demo: Demo) -> None:
    at = select(browse(), 0)
    assert button(at, "Compare").disabled and not button(at, "Open tape").disabled


def test_delete_asks_first_then_keeps_the_forks_lineage(demo: Demo) -> None:
    at = browse()
    select(at, row_of(at, demo.original.id))
    button(at, "Delete 1").click().run()
    assert "Their 2 direct fork(s) stay" in unescaped(at.warning[0].value)
    assert demo.ws.store.has_tape(demo.original.id)  # nothing happens before the confirmation
    at.button(key="delete_cancel").click().run()
    assert DELETE_PENDING not in at.session_state and demo.ws.store.has_tape(demo.original.id)
    button(at, "Delete 1").click().run()
    at.button(key="delete_confirm").click().run()
    assert not at.exception
    assert not demo.ws.store.has_tape(demo.original.id) and demo.ws.store.count_tapes() == demo.tapes - 1
    fork = demo.ws.store.load_tape(demo.edited.id)
    assert (fork.metadata.parent_id, fork.metadata.root_id) == (None, None)  # it became a root
    assert fork.steps == demo.edited.steps


def test_export_bundles_the_selected_tapes_with_their_calls(demo: Demo, tmp_path: Path) -> None:
    at = select(browse(), 0, 1)
    assert not at.exception and at.get("download_button")[0].proto.label == "Export 2"
    path = tmp_path / "export.json"
    path.write_bytes(bundle_bytes([demo.original.id, demo.edited.id]))
    bundle = read_bundle(path)
    assert [t.id for t in bundle.tapes] == [demo.original.id, demo.edited.id]
    linked = {s.metadata.prompt_id for t in bundle.tapes for s in t.steps if s.metadata.prompt_id}
    assert linked == {c.prompt_id for c in bundle.llm_calls}


def test_a_selected_tape_shows_its_family_tree(demo: Demo) -> None:
    at = browse()
    select(at, row_of(at, demo.original.id))
    tree = at.dataframe(key="browse_family").value
    assert tree["tree"][0] == "What is 17 times 23?" and all(t.startswith("    └─ ") for t in tree["tree"][1:])
    assert set(tree["id"]) == {demo.original.id, demo.edited.id, demo.rerun.id}
    at.session_state["browse_family"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    button(at, "Open selected fork").click().run()
    assert not at.exception and at.title[0].value == "Tape"


def test_training_records_are_hidden_until_asked_for(demo: Demo) -> None:
    records = demo.ws.store.count_tapes(TapeFilter(text="", limit=1000)) - demo.ws.store.count_tapes(
        TapeFilter(without_tag="training-record"))
    assert records > 0  # the demo store holds a recorded training run
    at = browse()
    assert f"{demo.tapes - records} tapes · page 1" in [c.value for c in at.caption]
    at.toggle(key="browse_records").set_value(True).run()
    assert f"{demo.tapes} tapes · page 1" in [c.value for c in at.caption]


def test_scores_are_numbers_or_a_dash_never_none(demo: Demo) -> None:
    demo.ws.store.set_score(demo.original.id, 0.8)
    table = browse().dataframe(key="browse_table").value
    scores = dict(zip(table["id"], table["score"]))
    assert scores[demo.original.id] == "0.80" and set(scores.values()) - {"0.80"} == {"–"}


def test_a_search_shows_where_each_tape_matches(demo: Demo) -> None:
    at = browse()
    assert "match" not in at.dataframe(key="browse_table").value.columns  # no search, no Match column
    at.text_input(key="browse_text").input("17*23").run()
    table = at.dataframe(key="browse_table").value
    matches = dict(zip(table["id"], table["match"]))
    assert matches and all("17*23" in match for match in matches.values())
    assert matches[demo.edited.id] == "calculator(expression='17*23')"


def test_the_first_run_hint_opens_the_demo_tape_to_start_with(demo: Demo) -> None:
    at = browse()
    assert any("New here?" in m.value for m in at.markdown)
    button(at, "Open it in the debugger").click().run()
    assert not at.exception and at.title[0].value == "Tape" and at.query_params["tape"] == demo.original.id
