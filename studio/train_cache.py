"""What the Train page computes once and reuses across reruns: the score figure, comparisons (10,000
bootstrap resamples each) and record-tape grids. Keys hold the store path and a stamp that moves
when the run commits a unit, so a live run is redrawn and a finished one is served from the cache."""

from __future__ import annotations

import altair as alt
import streamlit as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.compare import Comparison, Flip, compare_on_splits, flips, scored_examples
from tape_studio.core.learning.datasets import load_dataset
from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.studio import train_charts as charts
from tape_studio.studio import train_data as data
from tape_studio.studio.state import get_workspace

SPLITS = ("val", "test")
"""The splits a comparison reads; train is left out, since its scores are the ones trained on."""


def stamp(run: TrainingRun, rows: list[StepRow]) -> str:
    return f"{len(rows)}:{run.status}"


def score_figure(run_id: str, stamp: str) -> alt.LayerChart:
    return _score_figure(str(get_workspace().store.path), run_id, stamp)


@st.cache_data(max_entries=16, show_spinner=False)
def _score_figure(store_path: str, run_id: str, stamp: str) -> alt.LayerChart:
    rows = rec.load_rows(get_workspace().store, run_id)
    return charts.score_chart(data.epoch_frame(rows), data.step_frame(rows))


def train_size(run: TrainingRun) -> int | None:
    """Examples in the run's train split (None when its dataset cannot be read): read once, not on every poll."""
    return _train_size(run.config.dataset, run.config.metric)


@st.cache_data(max_entries=16, ttl=300, show_spinner=False)
def _train_size(dataset: str, metric: str) -> int | None:
    try:
        return len(load_dataset(dataset, metric).split("train"))
    except TapeStudioError:  # a user's dataset file that moved
        return None


def comparisons(run: TrainingRun, a: str, b: str, stamp: str) -> dict[str, tuple[Comparison | None, list[Flip]]]:
    """Per split (validation, test): version b against a and the flips. The examples are those v0 was
    scored on in this run (every version is measured on the same ones); None where a version was
    not scored on all of them."""
    return _comparisons(str(get_workspace().store.path), run.id, run.spec_id, a, b, stamp)


@st.cache_data(max_entries=32, show_spinner=False)
def _comparisons(store_path: str, run_id: str, v0: str, a: str, b: str,
                 stamp: str) -> dict[str, tuple[Comparison | None, list[Flip]]]:
    store = get_workspace().store
    splits = {split: scored_examples(store, run_id, v0, split) for split in SPLITS}
    found = compare_on_splits(store, run_id, a, b, splits)
    recorded = _summary_comparisons(rec.load_run(store, run_id), a, b)
    found = {split: found[split] or recorded.get(split) for split in SPLITS}
    return {split: (c, flips(store, run_id, c) if c else []) for split, c in found.items()}


def _summary_comparisons(run: TrainingRun, a: str, b: str) -> dict[str, Comparison]:
    """v0 against the best as the run's summary recorded it: what a run imported from an older file
    has, since such files carry their tapes but not their scores."""
    recorded = (run.summary or {}).get("v0_vs_best")
    if (a, b) != (run.spec_id, run.best_spec_id) or not isinstance(recorded, dict):
        return {}
    return {split: Comparison.model_validate(value) for split, value in recorded.items() if isinstance(value, dict)}


def gradient_grid(tape_id: str, node_order: tuple[str, ...]) -> data.GradientGrid:
    """A committed step's records never change, so its grid is read from the store once."""
    return _gradient_grid(str(get_workspace().store.path), tape_id, node_order)


@st.cache_data(max_entries=64, show_spinner=False)
def _gradient_grid(store_path: str, tape_id: str, node_order: tuple[str, ...]) -> data.GradientGrid:
    return data.gradient_grid(get_workspace().store.load_tape(tape_id), list(node_order))
