"""Pure helpers of the studio: Markdown escaping, the fork tree order, the date filter, settings."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tape_studio.core.catalog import agent_spec, build_agent
from tape_studio.core.llm import LLM
from tape_studio.core.settings import ModelSettings, configured_agent
from tape_studio.core.store import TapeSummary
from tape_studio.studio.browse_filters import _day_range
from tape_studio.studio.family import tree_order
from tape_studio.studio.render import plain


def test_plain_escapes_markup_but_keeps_the_text() -> None:
    hostile = "<img src=x onerror=alert(2)> **bold** [link](http://x) :red[alarm] `code`"
    escaped = plain(hostile)
    assert all(f"\\{c}" in escaped for c in "<>*[]()`")
    assert escaped.replace("\\", "") == hostile


def summary(tape_id: str, parent: str | None) -> TapeSummary:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    return TapeSummary(id=tape_id, parent_id=parent, root_id=None, fork_step=1 if parent else None, author="",
                       agent="qa", spec_id="", title=tape_id, status="completed", error="", score=None, n_steps=1,
                       n_llm_calls=0, prompt_tokens=0, completion_tokens=0, cost=0.0, created_at=now, updated_at=now)


def test_tree_order_is_depth_first_with_depths() -> None:
    family = [summary("root", None), summary("a", "root"), summary("b", "root"), summary("a1", "a"),
              summary("orphan", "deleted-long-ago")]
    assert [(depth, s.id) for depth, s in tree_order(family)] == [
        (0, "root"), (1, "a"), (2, "a1"), (1, "b"), (0, "orphan")]


def test_a_date_range_covers_whole_days_in_utc() -> None:
    assert _day_range(()) == (None, None)
    start, end = _day_range((date(2025, 3, 1), date(2025, 3, 2)))
    assert start == datetime(2025, 3, 1, tzinfo=UTC) and end == datetime(2025, 3, 3, tzinfo=UTC)
    assert _day_range((date(2025, 3, 1),))[1] == datetime(2025, 3, 2, tzinfo=UTC)


def test_a_role_model_runs_as_a_derived_spec_for_the_whole_team(tmp_path) -> None:  # type: ignore[no-untyped-def]
    llm = LLM(model="local/smollm2", mode="live")
    plain_agent = configured_agent(build_agent(agent_spec("explainer"), llm), ModelSettings())
    assert plain_agent.spec == agent_spec("explainer")
    agent = configured_agent(build_agent(agent_spec("explainer"), llm), ModelSettings(role_models={"default": "fake/other"}))
    assert agent.spec.models == {"default": "fake/other"} and agent.spec.parent_id == agent_spec("explainer").id
    assert all(sub.spec.models == {"default": "fake/other"} for sub in agent.subagents.values())
