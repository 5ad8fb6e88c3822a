"""Fine-tuning data rebuilt through the nodes: SFT records equal what was sent; DPO pairs from forks."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tape_studio.core.catalog import agent_spec, build_agent
from tape_studio.core.demo import demo_files
from tape_studio.core.interop.exporting import TapeSelection, render_export
from tape_studio.core.interop.finetune import step_groups
from tape_studio.core.interop.preferences import Evidence, preferred
from tape_studio.core.interop.tape_files import read_bundle
from tape_studio.core.llm import LLM
from tape_studio.core.nodes import node_type
from tape_studio.core.tape import FinalAnswer, StepMetadata, Tape, ToolCall, fork_tape
from tape_studio.core.workspace import Workspace

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "tapeagents"
QA_TAPES = [(p, t) for p in demo_files() for t in read_bundle(p).tapes
            if t.metadata.agent == "qa" and t.metadata.status == "completed"]
FAMILY_ROOT = "f802610f699e405faa8d098ec8ddcf96"
"""The demo fork family: the model looked 17*23 up; a person replaced that action with a calculator call."""
EDITED_FORK, RERUN_FORK = "ca4cfde3fec04f138bad6c51fcad999f", "2ea2a224499b401a8fb8172d36813a5f"


def qa_agent() -> object:
    return build_agent(agent_spec("qa"), LLM(model="local/smollm2", mode="live"))


@pytest.fixture
def ws(tmp_path: Path) -> Workspace:
    workspace = Workspace(tmp_path / "store.sqlite")
    for path in demo_files():
        workspace.import_file(path)
    return workspace


@pytest.mark.parametrize(("path", "tape"), QA_TAPES, ids=[f"{p.stem}-{t.id[:6]}" for p, t in QA_TAPES])
def test_sft_of_a_qa_tape_equals_the_prompts_actually_sent(path: Path, tape: Tape) -> None:
    calls = {c.prompt_id: c for c in read_bundle(path).llm_calls}
    agent = qa_agent()
    groups, skipped = step_groups(tape, agent, calls)  # type: ignore[arg-type]
    assert skipped == [] and [g.node for g in groups] == ["plan", "answer"]
    for group in groups:
        recorded = calls[tape.steps[group.start].metadata.prompt_id]
        assert group.record()["messages"][:-1] == recorded.messages
        node = agent_spec("qa").node(group.node)
        tools = agent.tools_of(node)  # type: ignore[attr-defined]
        reparsed = node_type(node).parse(node, group.completion, tools)
        assert [s.body() for s in reparsed] == [s.body() for s in tape.steps[group.start:group.stop]]


def test_a_hand_edited_fork_exports_the_edit_as_the_completion() -> None:
    bundle = read_bundle(next(p for p in demo_files() if "17-times-23" in p.name))
    calls = {c.prompt_id: c for c in bundle.llm_calls}
    fork = next(t for t in bundle.tapes if t.id == EDITED_FORK)
    groups, _ = step_groups(fork, qa_agent(), calls)  # type: ignore[arg-type]
    plan = groups[0]
    assert json.loads(plan.completion) == {"thought": "This is arithmetic.", "tool": "calculator", "input": "17*23"}
    assert plan.prompt == calls[fork.steps[1].metadata.prompt_id].messages  # same prompt as the original call


def test_groups_that_cannot_be_rebuilt_are_reported_with_the_reason() -> None:
    _, tape = QA_TAPES[0]
    wrong_node = tape.steps[1].model_copy(update={"metadata": StepMetadata(node="answer", agent="qa")})
    misplaced = Tape(metadata=tape.metadata, steps=(tape.steps[0], wrong_node))
    unrenderable = fork_tape(tape, 1, [FinalAnswer(text="42", metadata=StepMetadata(node="plan", agent="qa"))])
    agent = qa_agent()
    _, skipped = step_groups(misplaced, agent, {})  # type: ignore[arg-type]
    assert skipped[0].steps == "1" and "would run qa.plan here, the tape has qa.answer" in skipped[0].reason
    _, skipped = step_groups(unrenderable, agent, {})  # type: ignore[arg-type]
    assert "node 'plan' cannot render [final_answer]" in skipped[0].reason


def test_a_group_whose_rendering_reads_back_differently_is_reported() -> None:
    _, tape = QA_TAPES[0]
    two_args = ToolCall(tool="calculator", arguments={"expression": "1+1", "extra": "x"},
                        metadata=StepMetadata(node="plan", agent="qa"))
    edited = fork_tape(tape, 2, [two_args])
    _, skipped = step_groups(edited, qa_agent(), {})  # type: ignore[arg-type]
    assert "would read its rendering back as" in skipped[0].reason


def test_foreign_tapes_fall_back_to_their_recorded_calls(ws: Workspace, tmp_path: Path) -> None:
    folder = tmp_path / "runs"
    shutil.copytree(SAMPLES, folder)
    with sqlite3.connect(folder / "tapedata.sqlite") as conn:
        conn.executescript((folder / "tapedata.sql").read_text())
    ws.import_file(folder / "single.json")
    text, report = render_export(ws, TapeSelection(ids=["ta-tape-1"]), "sft")
    records = [json.loads(line) for line in text.splitlines()]
    assert [r["messages"][-1]["content"] for r in records][-1] == "Paris"
    assert records[0]["messages"][0] == {"role": "system", "content": "Plan the steps."}
    assert [s.steps for s in report.skipped] == ["6"]  # the rule-made final step has no recorded call
    assert "no recorded LLM call" in report.skipped[0].reason


def test_sft_filters_select_tapes(ws: Workspace) -> None:
    everything = render_export(ws, TapeSelection(), "sft")[1]
    successful = render_export(ws, TapeSelection(successful=True), "sft")[1]
    assert successful.tapes == everything.tapes - 1  # the failed demo tape
    assert render_export(ws, TapeSelection(agent="writer"), "sft")[1].records == 4
    ws.store.set_score(FAMILY_ROOT, 0.9)
    scored_text, scored = render_export(ws, TapeSelection(min_score=0.5), "sft")
    assert scored.tapes == 1 and len(scored_text.splitlines()) == 2
    with pytest.raises(Exception, match="no stored tape matches"):
        render_export(ws, TapeSelection(tags=["nope"]), "sft")


def test_dpo_pairs_the_edited_fork_with_its_original_by_score(ws: Workspace) -> None:
    ws.store.set_score(FAMILY_ROOT, 0.0)
    ws.store.set_score(EDITED_FORK, 1.0)
    text, report = render_export(ws, TapeSelection(ids=[EDITED_FORK, RERUN_FORK]), "dpo")
    (pair,) = [json.loads(line) for line in text.splitlines()]
    assert json.loads(pair["chosen"][0]["content"])["tool"] == "calculator"
    assert json.loads(pair["rejected"][0]["content"])["tool"] == "lookup"
    assert pair["prompt"][-1] == {"role": "user", "content": "Question: What is 17 times 23?"}
    assert "continue the same way" in report.skipped[0].reason  # the rerun fork wrote what the original did


def test_dpo_ties_are_skipped_and_counted_and_annotations_break_them(ws: Workspace) -> None:
    text, report = render_export(ws, TapeSelection(ids=[EDITED_FORK]), "dpo")
    assert text == "" and report.ties == 1
    ws.store.add_annotation(FAMILY_ROOT, 2, "ann", "Bad: arithmetic is not a lookup")
    text, report = render_export(ws, TapeSelection(ids=[EDITED_FORK]), "dpo")
    assert report.ties == 0 and json.loads(json.loads(text)["chosen"][0]["content"])["tool"] == "calculator"


def test_preference_prefers_scores_then_votes() -> None:
    assert preferred(Evidence(0.2), Evidence(0.8)) == "fork"
    assert preferred(Evidence(0.8, ("bad",)), Evidence(0.2, ("good",))) == "original"
    assert preferred(Evidence(None, ("👍 nice",)), Evidence(0.3)) == "original"
    assert preferred(Evidence(0.5), Evidence(0.5)) is None
