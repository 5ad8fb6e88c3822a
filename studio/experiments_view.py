"""The Experiments page's parts: the form that defines a rule (with a preview of what it matches),
the plan with its cost preview and launch button, live progress, and the report with its plot."""

from __future__ import annotations

import json
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.experiments import Budget, Experiment, Selection, build_report, create_experiment, parse_rule
from tape_studio.core.experiments.records import list_experiments, load_experiment
from tape_studio.core.experiments.report import ExperimentReport
from tape_studio.core.experiments.batch_preview import preview_experiment, preview_matches
from tape_studio.core.experiments.scoring import scorer_names
from tape_studio.core.settings import build_llm, load_settings
from tape_studio.core.store import TapeFilter
from tape_studio.studio.experiments_runs import RUNS
from tape_studio.studio.render import plain
from tape_studio.studio.state import COMPARE_PAGE, get_workspace

EXPERIMENT = "experiment_id"
"""Session key (and query parameter) of the experiment the page shows."""
_ERROR = "experiment_error"
_MATCHES = "experiment_matches"
EXAMPLE_RULES = {
    "Override a tool result": {"match": {"kind": "tool_result", "tool": "lookup"}, "action": "override_result",
                               "result": "The full article text."},
    "Delete the first thought": {"match": {"kind": "thought"}, "action": "delete"},
    "Substitute text": {"match": {"kind": "thought", "text": "look"}, "action": "substitute", "pattern": "(?i)look it up",
                        "replacement": "use the calculator"},
    "Insert a step before the answer": {"match": {"kind": "final_answer"}, "action": "insert_before",
                                        "step": {"kind": "thought", "text": "Check the answer against the text."}},
    "Patch a node's rules": {"node": "plan", "rules": ["Use the calculator for arithmetic."]},
    "Patch a tool description": {"tool": "lookup", "tool_description": "Look up a whole article by keywords."},
}


def experiment_list() -> None:
    ws = get_workspace()
    found = list_experiments(ws.store)
    if not found:
        st.info("No experiments yet. Define one below: pick tapes, write one edit rule, choose a scorer.")
        return
    rows = [{"id": e.id, "title": e.title, "status": e.status, "created": e.created_at.strftime("%Y-%m-%d %H:%M"),
             "scorer": e.scorer, "tapes": e.selection.describe()} for e in found]
    event = st.dataframe(pd.DataFrame(rows), hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="experiment_table")
    chosen = event.selection.rows if event is not None else []
    if chosen:
        show(rows[chosen[0]]["id"])
        st.rerun()


def show(experiment_id: str) -> None:
    st.session_state[EXPERIMENT] = experiment_id
    st.query_params["experiment"] = experiment_id


def define_form() -> None:
    """Selection, rule, scorer and budget; Check shows what the rule matches, Plan stores the experiment."""
    ws = get_workspace()
    agents = ws.store.agents()
    with st.container(border=True):
        st.markdown("**New experiment**")
        row = st.columns(4)
        row[0].selectbox("Agent", ["(any)", *agents], key="exp_agent")
        row[1].selectbox("Status", ["(any)", "completed", "failed", "interrupted"], key="exp_status")
        row[2].text_input("Text contains", key="exp_text")
        row[3].text_input("…or tape ids (comma-separated)", key="exp_ids")
        example = st.selectbox("Start from an example rule", list(EXAMPLE_RULES), key="exp_example")
        st.text_area("Edit rule (JSON)", value=json.dumps(EXAMPLE_RULES[example], indent=1), key=f"exp_rule_{example}",
                     height=150, help="match (kind, node, tool, text regex, which: first|every) + action "
                     "(replace_fields, substitute, override_result, delete, insert_before), or a spec patch.")
        row = st.columns(4)
        row[0].selectbox("Scorer", ["auto", *scorer_names(), "answer", "exact", "f1", "numeric"], key="exp_scorer",
                         help="auto: the dataset's metric when a dataset gives targets, else the LLM judge")
        row[1].text_input("Dataset (targets)", key="exp_dataset", help="a built-in set, folder or JSONL file")
        row[2].number_input("Max new LLM calls", min_value=0, value=0, key="exp_max_calls", help="0: no limit")
        row[3].number_input("Workers", min_value=1, max_value=16, value=2, key="exp_workers")
        st.text_input("Title", key="exp_title")
        buttons = st.columns(2)
        buttons[0].button("Check the rule", key="exp_check", on_click=_guard, args=(_check,), width="stretch")
        buttons[1].button("Plan experiment", key="exp_plan", type="primary", on_click=_guard, args=(_plan,),
                          width="stretch")
    _show_error()
    matches = st.session_state.get(_MATCHES)
    if matches is not None:
        if not any(m["fork at"] is not None for m in matches):
            st.warning("The rule matches no step in the first tapes of the selection.")
        st.dataframe(pd.DataFrame(matches), hide_index=True, key="exp_matches")


def _experiment() -> Experiment:
    s = st.session_state
    ids = tuple(part.strip() for part in s.get("exp_ids", "").split(",") if part.strip())
    where = None
    if not ids:
        where = TapeFilter(agent=None if s.exp_agent == "(any)" else s.exp_agent,
                           status=None if s.exp_status == "(any)" else s.exp_status, text=s.get("exp_text", ""),
                           limit=5000)
    text = s.get(f"exp_rule_{s.exp_example}", "")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TapeStudioError(f"rule: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    return Experiment(selection=Selection(ids=ids, filter=where), rule=parse_rule(data), scorer=s.exp_scorer,
                      dataset=s.get("exp_dataset") or None, title=s.get("exp_title", ""), workers=int(s.exp_workers),
                      budget=Budget(max_llm_calls=int(s.exp_max_calls) or None))


def _check() -> None:
    previews = preview_matches(get_workspace(), _experiment())
    st.session_state[_MATCHES] = [{"tape": p.tape_id[:12], "title": p.title[:60], "fork at": p.at, "step": p.before,
                                   "becomes": p.after} for p in previews]


def _plan() -> None:
    experiment, _ = create_experiment(get_workspace(), _experiment())
    st.session_state.pop(_MATCHES, None)
    show(experiment.id)


def _guard(action: Any, *args: Any) -> None:
    try:
        action(*args)
    except TapeStudioError as exc:
        st.session_state[_ERROR] = str(exc).splitlines()[0]
    except ValueError as exc:  # a pydantic check of the form's values
        st.session_state[_ERROR] = str(exc).splitlines()[0]


def _show_error() -> None:
    error = st.session_state.pop(_ERROR, None)
    if error:
        st.error(plain(error))


def plan_panel(experiment_id: str) -> None:
    """The stored plan: the batch's cost preview and the launch (or resume) button."""
    ws = get_workspace()
    experiment = load_experiment(ws.store, experiment_id)
    live = RUNS.get(experiment_id)
    if live is not None and live.running:
        progress_panel(experiment_id)
        return
    if live is not None and live.error:
        st.error(plain(f"The experiment stopped: {live.error}"))
    if experiment.status == "completed":
        return
    # The model and mode chosen on the Settings page, as the launch uses them: cache keys name the model.
    preview = preview_experiment(ws, experiment_id, llm=build_llm(load_settings(ws.store), ws.cache))
    with st.container(border=True):
        st.markdown("**Cost preview**" + (" (resume)" if experiment.status == "stopped" else ""))
        numbers = st.columns(5)
        more = "" if preview.exact else "+"
        numbers[0].metric("Tapes to rerun", preview.tapes)
        numbers[1].metric("Skipped (no match)", preview.skipped)
        numbers[2].metric("LLM calls expected", f"{preview.calls}{more}")
        numbers[3].metric("From the cache", f"{preview.cached_calls} ({preview.cached_share:.0%})")
        numbers[4].metric("Cost ($)", f"{preview.cost:.4f}")
        if preview.judge_calls:
            st.caption(f"Of these, {preview.judge_calls} are the judge's (scoring both sides), "
                       f"{preview.judge_cached} of them from the cache.")
        if experiment.stop_reason:
            st.caption(plain(f"Last run stopped: {experiment.stop_reason}. Finished forks are kept; launching resumes."))
        st.button("Launch" if experiment.status == "planned" else "Resume", type="primary", key="exp_launch",
                  on_click=_launch, args=(experiment_id,), disabled=preview.tapes == 0)


def _launch(experiment_id: str) -> None:
    RUNS.start(get_workspace(), experiment_id)


@st.fragment(run_every=1.0)
def progress_panel(experiment_id: str) -> None:
    live = RUNS.get(experiment_id)
    if live is None or not live.running:
        st.rerun()  # the whole page redraws with the report
        return
    progress = live.progress
    done, total = (progress.done, progress.total) if progress else (0, 1)
    st.progress(done / max(total, 1), text=f"{done} of {total} tapes")
    st.button("Stop", key="exp_stop", on_click=live.stop.set)


def report_panel(experiment_id: str) -> None:
    report = build_report(get_workspace().store, experiment_id)
    a = report.aggregate
    # One bold run, so the heading is one text node (a browser test finds it by its text).
    st.markdown(f"**Report · {report.experiment.status}**")
    numbers = st.columns(5)
    numbers[0].metric("Mean delta", f"{a.delta.mean:+.3f}", help=f"{a.delta.level:.0%} paired bootstrap interval")
    numbers[1].metric(f"{a.delta.level:.0%} CI", f"[{a.delta.low:+.2f}, {a.delta.high:+.2f}]")
    numbers[2].metric("Fixed / broken / same", f"{a.fixed} / {a.broken} / {a.unchanged}")
    numbers[3].metric("Scored / skipped", f"{a.scored} / {a.skipped}")
    numbers[4].metric("Extra cost ($)", f"{a.extra_cost:.4f}", help=f"{a.llm_calls} LLM calls, {a.new_llm_calls} new")
    if not report.rows:
        return
    if a.scored:
        # Vega-Lite, not plotly: the browser loads a 0.8 MB chunk instead of 4.7 MB. A keyed container
        # names the chart in the page (a chart without selections carries no key there).
        st.container(key="exp_chart").altair_chart(delta_chart(report))
    rows = [{"tape": r.tape_id, "fork": r.fork_id or "", "state": r.state, "original": r.original_score,
             "fork score": r.fork_score, "delta": r.delta, "diverges at": r.first_divergence, "cost ($)": r.cost,
             "note": r.reason} for r in report.rows]
    st.caption("Select a row to open Compare on the original and its fork.")
    event = st.dataframe(pd.DataFrame(rows), hide_index=True, on_select="rerun", selection_mode="single-row",
                         key="exp_rows")
    chosen = event.selection.rows if event is not None else []
    if chosen and rows[chosen[0]]["fork"]:
        st.switch_page(COMPARE_PAGE, query_params={"a": rows[chosen[0]]["tape"], "b": rows[chosen[0]]["fork"]})


def delta_chart(report: ExperimentReport) -> alt.LayerChart:
    """One bar per scored tape (fork minus original), the mean and its interval as lines."""
    scored = [r for r in report.rows if r.delta is not None]
    deltas = [float(r.delta or 0.0) for r in scored]
    # The scores go into the tooltip as text: Vega's tooltip escapes it.
    bars = pd.DataFrame({"tape": [r.tape_id[:8] for r in scored], "delta": deltas,
                         "sign": ["fixed" if x > 0 else "broken" if x < 0 else "same" for x in deltas],
                         "scores": [f"{r.original_score} → {r.fork_score}" for r in scored]})
    d = report.aggregate.delta
    band = pd.DataFrame({"low": [d.low], "high": [d.high], "mean": [d.mean], "label": [f"mean {d.mean:+.3f}"]})
    title = "score delta (fork − original)"
    # A tenth either side of zero at least: all-equal deltas otherwise make a zero-height axis.
    values = [*bars["delta"], d.low, d.high]
    scale = alt.Scale(domain=[min(*values, -0.1), max(*values, 0.1)], nice=True)
    y = alt.Y("delta:Q", title=title, scale=scale, axis=alt.Axis(format="~g"))
    drawn = alt.Chart(bars).mark_bar().encode(
        x=alt.X("tape:N", title="tape", sort=None, axis=alt.Axis(labelAngle=0)), y=y,
        color=alt.Color("sign:N", legend=None, scale=alt.Scale(domain=["fixed", "broken", "same"],
                                                               range=["#2e7d32", "#c62828", "#90a4ae"])),
        tooltip=["tape:N", alt.Tooltip("delta:Q", format="+.3f"), "scores:N"])
    interval = alt.Chart(band).mark_rect(opacity=0.15, color="#1565c0").encode(y=alt.Y("low:Q", title=title), y2="high:Q")
    mean = alt.Chart(band).mark_rule().encode(y=alt.Y("mean:Q", title=title))
    label = alt.Chart(band).mark_text(align="right", dy=-7, x="width").encode(y="mean:Q", text="label:N")
    return alt.layer(interval, drawn, mean, label).properties(height=320)
