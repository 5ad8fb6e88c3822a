"""The Train page's story of a run: v0 against the best version (and any two the user picks) on
validation and test, the examples that flipped, and each accepted change with the gradients behind
it, all linked to their tapes. Model-written and dataset text is drawn as text only."""

from __future__ import annotations

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from tape_studio.core.learning.compare import Comparison, Flip
from tape_studio.core.learning.records import TrainingRun
from tape_studio.core.learning.versions import Version
from tape_studio.studio import train_cache as cache
from tape_studio.studio import train_data as data
from tape_studio.studio.diff_view import diff_lines, render_diff
from tape_studio.studio.render import plain

TEST_LABEL = "test (reported only, never used to choose the best version)"
LINKS = {"A tape": st.column_config.LinkColumn("A tape", display_text="open A"),
         "B tape": st.column_config.LinkColumn("B tape", display_text="open B"),
         "compare": st.column_config.LinkColumn("compare", display_text="compare A and B"),
         "forward tape": st.column_config.LinkColumn("forward tape", display_text="open the visit"),
         "record": st.column_config.LinkColumn("record", display_text="open the record")}


def best_label(run: TrainingRun, versions: list[Version]) -> str:
    return next((v.label for v in versions if v.adopted and v.spec_id == run.best_spec_id), "v0")


def headline(run: TrainingRun, versions: list[Version], stamp: str) -> None:
    """v0 against the best version, on validation (which chose it) and test (which did not)."""
    best = best_label(run, versions)
    found = cache.comparisons(run, run.spec_id, run.best_spec_id, stamp)
    st.subheader(f"v0 → best version ({best}, chosen on validation)" if best != "v0"
                 else "v0 is still the best version: no accepted change beat it on validation", divider="gray")
    val, test = st.columns(2)
    _metric(val, "validation (chooses the best)", found.get("val"), data.recorded_scores(run, "val"))
    _metric(test, TEST_LABEL, found.get("test"), data.recorded_scores(run, "test"), missing=_test_missing(run))


def _test_missing(run: TrainingRun) -> str:
    if not run.config.evaluate_test:
        return "not scored: this run was set not to score the test split"
    return "not scored yet: scored once at the end, for v0 and the best version"


def _metric(column: DeltaGenerator, label: str, found: tuple[Comparison | None, list[Flip]] | None,
            recorded: tuple[float, float] | None, missing: str = "not scored for both versions yet") -> None:
    comparison = found[0] if found else None
    if comparison is None and recorded is not None:  # a run recorded before comparisons were kept
        column.metric(label, f"{recorded[1]:.2f}", delta=f"{recorded[1] - recorded[0]:+.2f} vs v0 ({recorded[0]:.2f})")
        column.caption("no per-example scores were kept for this run, so there is no interval or list of flips")
        return
    if comparison is None:
        column.metric(label, "–")
        column.caption(missing)
        return
    column.metric(label, f"{comparison.b_score:.2f}", delta=f"{comparison.delta:+.2f} vs v0 ({comparison.a_score:.2f})")
    column.text(f"90% interval {comparison.low:+.2f} to {comparison.high:+.2f}: {data.verdict(comparison)}; "
                f"{len(comparison.fixed)} fixed, {len(comparison.broken)} broken of {comparison.n}")


def compare_panel(run: TrainingRun, versions: list[Version], stamp: str) -> None:
    """Any two versions: the delta per split with its paired-bootstrap interval, then the flipped examples."""
    labels = {v.label: v for v in versions}
    left, right = st.columns(2)
    a = left.selectbox("Version A", list(labels), index=0, key="train_cmp_a")
    names = list(labels)
    b = right.selectbox("Version B", names, index=names.index(best_label(run, versions)), key="train_cmp_b")
    found = cache.comparisons(run, labels[a].spec_id, labels[b].spec_id, stamp)
    for split, (comparison, flips) in found.items():
        title = TEST_LABEL if split == "test" else "validation"
        st.subheader(title.capitalize(), divider="gray")
        if comparison is None:
            st.info("Not every example of this split was scored for both versions: validation scores the "
                    "adopted versions and the candidates the gate checked; test only v0 and the best version, "
                    "at the end. A run file from an older version keeps no per-example scores, only v0 against "
                    "the best version as its summary recorded it.")
            continue
        st.text(data.comparison_sentence(comparison, a, b))
        st.text(data.verdict(comparison).capitalize() + ".")
        if flips:
            st.dataframe(data.flip_frame(flips), hide_index=True, column_config=LINKS, key=f"train_flips_{split}")
        else:
            st.text("No example changed its score.")


def changes_panel(changes: list[data.AcceptedChange], node_order: tuple[str, ...]) -> None:
    """Each accepted change as a coloured diff, who made it, and the gradients it was made from."""
    if not changes:
        st.info("No change was accepted in this run (yet): every candidate was rejected, or none was proposed.")
        return
    for change in changes:
        row = change.row
        st.subheader(f"{change.label} · epoch {row.epoch}, step {row.step + 1}", divider="gray")
        st.text(f"made by the {data.optimizer_words(row)} optimizer" + ("s" if len(row.changed_by) > 1 else "")
                + (f" · {row.reason}" if row.reason else ""))
        if not change.diffs:
            st.text("No prompt text changed (the graph did: see the Graph tab).")
        for diff in change.diffs:
            st.caption(plain(f"{diff.node} · {diff.component}"))  # node and tool names come from the agent source
            render_diff(diff_lines(diff.old, diff.new))
        if row.tape_id:
            _gradients(row.tape_id, node_order, key=f"{row.epoch}_{row.step}")


def _gradients(record_tape: str, node_order: tuple[str, ...], key: str) -> None:
    grid = cache.gradient_grid(record_tape, node_order)
    with st.expander("The gradients behind it", expanded=True):
        st.link_button("Open this step's record tape", data.tape_link(record_tape))
        for node in grid.nodes:
            if node in grid.aggregated:
                st.text(f"{node}: aggregated gradient (what the optimizer read)")
                st.code(grid.aggregated[node][1].text, language=None, wrap_lines=True)
        frame = data.gradient_frame(grid, record_tape)
        if frame.empty:
            st.text("No gradients in this step.")
        else:
            st.dataframe(frame, hide_index=True, column_config=LINKS, key=f"train_change_grads_{key}")
