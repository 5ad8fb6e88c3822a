"""The Train page's sections. Model-written text (gradients, proposals, prompts) is drawn with
st.text / st.code / dataframes only: it is untrusted and never rendered as markdown or HTML."""

from __future__ import annotations

from datetime import UTC, datetime

import streamlit as st

from tape_studio.core.errors import NotFoundError
from tape_studio.core.learning import records as rec
from tape_studio.core.learning.datasets import DATASETS
from tape_studio.core.learning.gate import POLICIES
from tape_studio.core.learning.prompt_diff import spec_diff
from tape_studio.core.learning.records import StepRow, TrainingRun
from tape_studio.core.learning.train_config import OPTIMIZERS, TrainConfig
from tape_studio.core.learning.trainer import plan
from tape_studio.core.learning.versions import Version, edge_changes, node_changes
from tape_studio.core.spec import AgentSpec
from tape_studio.core.workspace import Workspace
from tape_studio.studio import train_cache as cache
from tape_studio.studio import train_charts as charts
from tape_studio.studio import train_data as data
from tape_studio.studio import train_runner as runner
from tape_studio.studio.diff_view import diff_lines, render_diff
from tape_studio.studio.render import plain, render_llm_call
from tape_studio.studio.state import TAPE_PAGE, TRAIN_ROWS_SEEN, TRAIN_RUN, open_tape


STATUS_WORDS = {"completed": "finished", "running": "training", "stopped": "stopped", "failed": "failed"}


def run_label(run: TrainingRun) -> str:
    status = STATUS_WORDS.get(run.status, run.status)
    return f"{run.created_at:%Y-%m-%d %H:%M} · {run.agent} on {run.dataset} · {status} · {run.id[:8]}"


def no_runs() -> None:
    asked = st.query_params.get("run")
    if asked:
        st.error(plain(f"No training run with id {asked!r}: this store has no training runs yet."))
    st.info("No training runs yet. Start one above, or from a terminal:\n\n"
            "`tape-studio train --agent qa --dataset qa`")


def pick_run(runs: list[TrainingRun]) -> str | None:
    """The run the address names, else the one shown last, else the newest. An address naming no
    run says so and waits for a choice, rather than showing another run as if it were that one."""
    labels = {run.id: run_label(run) for run in runs}
    asked = st.query_params.get("run")
    if asked and asked not in labels:
        st.error(plain(f"No training run with id {asked!r} in this store: it was deleted, or the link is wrong. "
                       "Pick a run below."))
        picked = st.selectbox("Run", list(labels), index=None, format_func=labels.get, placeholder="choose a run")
        if picked is None:
            return None
        st.query_params["run"] = picked
        st.rerun()
    wanted = asked or st.session_state.get(TRAIN_RUN)
    if wanted not in labels:
        wanted = runs[0].id
    run_id = st.selectbox("Run", list(labels), index=list(labels).index(wanted), format_func=labels.get)
    st.session_state[TRAIN_RUN] = run_id
    st.query_params["run"] = run_id
    return run_id


def launch_form(ws: Workspace) -> None:
    """Configure and start a run; it trains in the background and the page follows it."""
    with st.form("train_launch"):
        left, middle, right = st.columns(3)
        agent = left.selectbox("Agent", sorted(spec.name for spec in ws.agents()), key="train_agent")
        dataset = left.selectbox("Dataset", DATASETS.in_order(), key="train_dataset", accept_new_options=True,
                                 help="A registered set (built-in or from a loaded agent source), or the path of a JSONL file or folder of your own.")
        defaults = TrainConfig(agent="", dataset="")  # the page starts where `tape-studio train` does
        epochs = middle.number_input("Epochs", 1, 50, defaults.epochs, key="train_epochs")
        batch = middle.number_input("Minibatch size", 1, 64, defaults.batch_size, key="train_batch")
        workers = middle.number_input("Workers", 1, 16, 2, key="train_workers")
        policy = right.selectbox("Gate policy", POLICIES, index=POLICIES.index("minibatch+val"), key="train_policy")
        optimizers = right.multiselect("Optimizers", OPTIMIZERS, default=list(defaults.optimizers), key="train_optimizers")
        budget = right.number_input("Max LLM calls (0: no limit)", 0, 100_000, 0, key="train_budget")
        if st.form_submit_button("Start training", type="primary") and optimizers:
            config = TrainConfig(agent=agent, dataset=dataset, epochs=int(epochs), batch_size=int(batch),
                                 workers=int(workers), policy=policy, optimizers=tuple(optimizers),
                                 max_llm_calls=int(budget) or None)
            run_id = runner.start_run(ws, config)
            st.session_state[TRAIN_RUN] = run_id
            st.query_params["run"] = run_id


STALE_AFTER_S = 180
"""A "running" run whose store row has not moved for this long is presumed dead (killed process)."""


def live_status(ws: Workspace, run_id: str) -> None:
    """The run's progress; while it trains (here or in another process) it refreshes itself."""
    run = rec.load_run(ws.store, run_id)
    if run.status == "running" and (runner.is_running(run_id) or _age_s(run) < STALE_AFTER_S):
        _polling_status(ws, run_id)
    else:
        _status(ws, run_id)


@st.fragment(run_every=2.0)
def _polling_status(ws: Workspace, run_id: str) -> None:
    _status(ws, run_id)


def _status(ws: Workspace, run_id: str) -> None:
    """How far the run is and what it is doing, in words; redraws the whole page when a unit commits."""
    run = rec.load_run(ws.store, run_id)
    rows = rec.load_rows(ws.store, run_id)
    # A finished run did every step it planned (its dataset may have changed since).
    total = sum(row.kind == "step" for row in rows) if run.status == "completed" else _steps_total(run)
    running = runner.is_running(run_id)
    fraction, words = data.progress(run, rows, total)
    st.progress(fraction, text=words)
    stale = run.status == "running" and not running and _age_s(run) >= STALE_AFTER_S
    st.text(data.status_sentence(run, running, _age_s(run) if stale else None))
    if run.error or runner.last_error(run_id):
        st.code(run.error or runner.last_error(run_id), language=None, wrap_lines=True)
    if running:
        st.button("Stop after this stage", on_click=runner.request_stop, args=(run_id,), key="train_stop")
    elif run.status != "completed" and (run.status != "running" or stale):
        st.button("Resume", on_click=runner.resume_run, args=(ws, run_id), key="train_resume")
    seen = st.session_state.get(TRAIN_ROWS_SEEN)
    st.session_state[TRAIN_ROWS_SEEN] = (run_id, len(rows))
    if seen is not None and seen[0] == run_id and seen[1] != len(rows):
        st.rerun(scope="app")  # a unit committed: the charts below are stale


def _age_s(run: TrainingRun) -> float:
    return (datetime.now(UTC) - run.updated_at).total_seconds()


def _steps_total(run: TrainingRun) -> int | None:
    n_train = cache.train_size(run)
    return None if n_train is None else sum(unit.kind == "step" for unit in plan(run.config, n_train))


def scores_panel(run: TrainingRun, rows: list[StepRow], versions: list[Version]) -> None:
    epochs, steps = data.epoch_frame(rows), data.step_frame(rows)
    if epochs.empty:
        st.info("No epoch finished yet.")
        return
    # A chart without selections takes no key in the page, so a keyed container names it (for the browser).
    st.container(key="train_scores").altair_chart(cache.score_figure(run.id, cache.stamp(run, rows)))
    labels = {v.spec_id: v.label for v in versions if v.adopted}
    epochs.insert(1, "version", [labels.get(spec_id, spec_id) for spec_id in epochs["spec_id"]])
    st.dataframe(epochs.drop(columns=["total_cost"]), hide_index=True, key="train_epochs_table")
    st.dataframe(steps[["epoch", "step", "decision", "train", "candidate", "val_candidate", "reason", "calls",
                        "tokens", "cost"]], hide_index=True, key="train_steps_table")


def gradients_panel(ws: Workspace, rows: list[StepRow], spec_order: list[str]) -> None:
    """Nodes × minibatch examples: each parameter gradient, beside the aggregated one per node."""
    steps = [row for row in rows if row.kind == "step" and row.tape_id]
    if not steps:
        st.info("No update step committed yet.")
        return
    row = st.selectbox("Step", steps, format_func=lambda r: f"epoch {r.epoch} · step {r.step + 1} · {r.decision}",
                       key="train_grad_step")
    grid = cache.gradient_grid(row.tape_id, tuple(spec_order))
    _loss_header(grid)
    if not grid.nodes:
        st.info("No gradients in this step (every example was solved, or backward produced none).")
    for node in grid.nodes:
        _gradient_row(ws, row.tape_id, grid, node)
    _proposals(ws, row.tape_id, grid)


def _loss_header(grid: data.GradientGrid) -> None:
    columns = st.columns(len(grid.losses) + 1)
    columns[0].text("node \\ example")
    for column, (_, loss) in zip(columns[1:], grid.losses, strict=True):
        column.text(f"{loss.example_id}: score {loss.score:.2f}")
        column.text(loss.feedback)


def _gradient_row(ws: Workspace, record_tape: str, grid: data.GradientGrid, node: str) -> None:
    st.subheader(node, divider="gray")
    columns = st.columns(len(grid.losses) + 1)
    for column, (_, loss) in zip(columns[:-1], grid.losses, strict=True):
        with column:
            cells = grid.cells.get((node, loss.example_id), [])
            if not cells:
                st.text("solved: no gradient" if loss.score >= 1.0 else "no visit of this node")
            for index, gradient in cells:
                st.text(gradient.error or gradient.parameter)
                st.text(f"needed from upstream: {gradient.input_gradient or '-'}")
                _links(ws, record_tape, index, gradient.tape_id, gradient.step_index, gradient.metadata.prompt_id)
    with columns[-1]:
        st.text("aggregated (what the optimizer read)" + (", summarised" if node in grid.aggregated
                                                         and grid.aggregated[node][1].summarized else ""))
        st.code(grid.aggregated[node][1].text if node in grid.aggregated else "-", language=None, wrap_lines=True)


def _links(ws: Workspace, record_tape: str, index: int, forward_tape: str, step: int, prompt_id: str) -> None:
    left, right = st.columns(2)
    if left.button("Forward step", key=f"fwd_{record_tape}_{index}", help=f"tape {forward_tape}, step {step}"):
        _open(forward_tape, step)
    if right.button("Record", key=f"rec_{record_tape}_{index}", help="this gradient on its record tape"):
        _open(record_tape, index)
    if prompt_id:
        with st.expander("Prompt that wrote it"):
            try:
                render_llm_call(ws.store.load_llm_call(prompt_id))
            except NotFoundError:
                st.text("(the call is not in the store)")


def _open(tape_id: str, step: int) -> None:
    open_tape(tape_id, step)
    st.switch_page(TAPE_PAGE, query_params={"tape": tape_id})


def _proposals(ws: Workspace, record_tape: str, grid: data.GradientGrid) -> None:
    st.subheader("Proposals", divider="gray")
    for _index, proposal in grid.proposals:
        st.text(proposal.summary())
        st.json(proposal.changes, expanded=False)
        if proposal.metadata.prompt_id:
            with st.expander("Optimizer prompt and raw output"):
                render_llm_call(ws.store.load_llm_call(proposal.metadata.prompt_id))


def prompts_panel(versions: list[Version], specs: dict[str, AgentSpec], best: str) -> None:
    """The coloured diff between any two versions (rejected candidates too; v0 → best first), then prompt lengths."""
    labels = {v.label: v for v in versions}
    left, right = st.columns(2)
    old = left.selectbox("From", list(labels), index=0, key="train_diff_old")
    new = right.selectbox("To", list(labels), index=list(labels).index(best), key="train_diff_new")
    diffs = [d for d in spec_diff(specs[labels[old].spec_id], specs[labels[new].spec_id]) if d.changed]
    if not diffs:
        st.info("These two versions have the same prompts.")
    for diff in diffs:
        st.text(f"{diff.node} · {diff.component}")
        render_diff(diff_lines(diff.old, diff.new))
    st.subheader("Prompt length per node", divider="gray")
    st.container(key="train_lengths").altair_chart(charts.length_chart(data.length_frame(versions, specs)))


def graph_panel(versions: list[Version], specs: dict[str, AgentSpec]) -> None:
    labels = {v.label: v for v in versions}
    chosen = labels[st.selectbox("Version", list(labels), index=len(labels) - 1, key="train_graph_version")]
    spec = specs[chosen.spec_id]
    parent = specs.get(chosen.parent_id or "")
    added, removed = edge_changes(parent, spec)
    st.container(key="train_graph").altair_chart(charts.graph_chart(spec, node_changes(parent, spec), added))
    gone = [n.name for n in parent.nodes if n.name not in {m.name for m in spec.nodes}] if parent else []
    st.text(f"spec {spec.id} · parent {chosen.parent_id or '-'}"
            + (f" · removed nodes: {', '.join(gone)}" if gone else "")
            + (f" · removed edges: {', '.join(f'{e.source}->{e.target}' for e in removed)}" if removed else ""))


def usage_panel(run: TrainingRun, rows: list[StepRow]) -> None:
    usage = data.usage_frame(data.run_usage(run, rows))
    if usage.empty:
        st.info("No LLM calls yet.")
        return
    st.dataframe(usage, hide_index=True, key="train_usage_table")
    st.bar_chart(usage, x="role", y=["calls", "new_calls"], stack=False)
