"""Steps imported from TapeAgents (`user`, `*_thought`, `final_answer_action`, ...) show their words
in the step list and in the inspector, as text, not as a collapsed JSON object."""

from __future__ import annotations

import json
from pathlib import Path

from studio_helpers import Demo, page

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "tapeagents"


def _meta(i: int, node: str = "") -> dict:  # type: ignore[type-arg]
    return {"id": f"m{i}", "prompt_id": "", "node": node, "agent": "math_agent" if node else "", "other": {}}


MATH = {"metadata": {"id": "ta-math", "parent_id": None, "author": "math_agent", "result": {}}, "context": None,
        "steps": [
            {"metadata": _meta(0), "kind": "user", "content": "What is 12 times 3?"},
            {"metadata": _meta(1, "solve"), "kind": "reasoning_thought", "reasoning": "Multiply 12 by 3 to get 36."},
            {"metadata": _meta(2, "solve"), "kind": "final_answer_action", "text": "The answer is 36.", "value": 36},
        ]}


def labels(at) -> list[str]:  # type: ignore[no-untyped-def]
    return [b.label for b in at.button if b.key and b.key.startswith("select_")]


def test_tapeagents_steps_show_their_words_in_the_step_list_and_inspector(demo: Demo, tmp_path: Path) -> None:
    path = tmp_path / "math.json"
    path.write_text(json.dumps(MATH))
    demo.ws.import_file(path)
    at = page("tape", tape="ta-math", step="2")
    assert not at.exception
    shown = labels(at)
    assert "What is 12 times 3?" in shown[0] and "Multiply 12 by 3 to get 36." in shown[1]
    assert "The answer is 36." in shown[2] and "{" not in "".join(shown)
    texts = [t.value for t in at.text]
    assert "The answer is 36." in texts  # the inspector draws the words as text ...
    assert {"value": 36} in [j.value if isinstance(j.value, dict) else json.loads(j.value) for j in at.json]  # ... then the rest


def test_the_sample_tapeagents_file_reads_in_the_step_list(demo: Demo) -> None:
    demo.ws.import_file(SAMPLES / "single.json")
    at = page("tape", tape="ta-tape-1", step="1")
    shown = labels(at)
    assert "What is the capital of France?" in shown[0]
    assert "search the web" in shown[1] and "Paris is the capital and largest city" in shown[4]
