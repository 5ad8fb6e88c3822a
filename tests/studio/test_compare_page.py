"""The Compare page on the demo fork pair: aligned steps, first divergence, field and prompt diffs."""

from __future__ import annotations

import re
from pathlib import Path

from studio_helpers import Demo, button, page, shown_text, unescaped


def test_a_fork_pair_is_aligned_with_the_first_divergence_marked(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b=demo.edited.id)
    assert not at.exception
    assert unescaped(at.warning[0].value) == "First divergence: step 2 of A, step 2 of B (changed tool_call)."
    assert {m.label: m.value for m in at.metric} == {"Same": "2", "Changed": "3", "Only in A": "0", "Only in B": "0"}
    rows = at.dataframe(key="compare_pairs").value
    assert list(rows["A #"]) == [0, 1, 2, 3, 4] and rows[""][2] == "▶ first divergence"
    fields = next(d.value for d in at.dataframe if "field" in d.value)  # the first divergence, in detail
    assert list(fields["field"]) == ["arguments.expression", "arguments.query", "tool"]
    assert list(fields["B"]) == ["17*23", "null", "calculator"]


def test_selecting_the_answer_pair_shows_its_prompt_diff(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b=demo.edited.id)
    at.session_state["compare_pairs"] = {"selection": {"rows": [4], "columns": [], "cells": []}}
    at.run()
    assert not at.exception
    diff = next(c.value for c in at.code if c.language == "diff")
    assert "-Text: lookup → ToolError" not in diff  # observations are tool results, not summaries
    assert any(line.startswith("-") and "nothing found" in line for line in diff.splitlines())
    assert any(line.startswith("+") and "391" in line for line in diff.splitlines())


def test_steps_from_one_shared_call_have_the_same_prompt(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b=demo.edited.id)
    at.session_state["compare_pairs"] = {"selection": {"rows": [1], "columns": [], "cells": []}}
    at.run()
    assert "Both steps came from the same prompt." in shown_text(at)


def test_only_differences_hides_equal_steps(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b=demo.edited.id)
    at.toggle(key="compare_only_diff").set_value(True).run()
    assert list(at.dataframe(key="compare_pairs").value["A #"]) == [2, 3, 4]


def test_identical_steps_say_so(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b=demo.rerun.id)
    assert at.success[0].value == "Same steps: all 5 steps align and match."


def test_swap_exchanges_the_two_tapes(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b=demo.edited.id)
    button(at, "⇄ Swap").click().run()
    assert (at.query_params["a"], at.query_params["b"]) == (demo.edited.id, demo.original.id)


def test_pickers_offer_the_family_and_name_the_pair_in_the_address(demo: Demo) -> None:
    at = page("compare")
    assert not at.exception
    at.selectbox(key="compare_a").select(demo.original.id).run()
    options = at.selectbox(key="compare_b").options
    assert {demo.edited.id[:8], demo.rerun.id[:8]} <= {o.rsplit("· ", 1)[-1] for o in options[:2]}
    at.selectbox(key="compare_b").select(demo.edited.id).run()
    assert not at.exception
    assert (at.query_params["a"], at.query_params["b"]) == (demo.original.id, demo.edited.id)
    assert unescaped(at.warning[0].value).startswith("First divergence: step 2")


def test_an_unknown_tape_is_an_error_message(demo: Demo) -> None:
    at = page("compare", a=demo.original.id, b="nope")
    assert not at.exception
    assert "Cannot compare: no tape with id 'nope'" in at.error[0].value


def test_an_empty_store_explains_how_to_get_a_pair(studio_store: Path) -> None:
    at = page("compare")
    assert not at.exception and "Fork a tape" in at.info[0].value


def test_a_hostile_link_is_shown_as_text(demo: Demo) -> None:
    at = page("compare", a="<img src=x onerror=alert(1)>", b=demo.original.id)
    assert not at.exception
    message = at.error[0].value
    assert not re.search(r"(?<!\\)[<>()]", message)  # every bracket is escaped: Markdown shows it as text
    assert "<img src=x onerror=alert(1)>" in unescaped(message)
