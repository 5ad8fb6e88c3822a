"""Data: evaluate an agent over a dataset split, export fine-tuning data, import tape files."""

import streamlit as st

from tape_studio.core.errors import TapeStudioError
from tape_studio.core.interop.exporting import EXPORT_FORMATS, TapeSelection
from tape_studio.core.learning.datasets import DATASETS
from tape_studio.core.learning.datasets import SPLITS
from tape_studio.studio.data import FILE_NAMES, export_download, import_uploads, skipped_rows
from tape_studio.core.learning.report import EvalProgress
from tape_studio.studio.evaluation import aggregate_rows, change_rows, label, progress_text, run_evaluation
from tape_studio.studio.state import get_workspace

FORMAT_LABELS = {"bundle": "Tape Studio bundle (tapes + LLM calls)", "sft": "SFT: OpenAI chat fine-tuning JSONL",
                 "dpo": "DPO: preference pairs from forks", "otel": "OpenTelemetry traces (OTLP JSON)",
                 "openinference": "OpenInference traces (OTLP JSON, for Phoenix)"}
EXPORT_RESULT = "data_export_result"
# Evaluations run in this session: spec, split and the score and tape id per example (never tapes).
# (A comment, not a docstring: Streamlit's magic draws a bare string of a page script on the page.)
EVAL_RUNS = "data_eval_runs"

ws = get_workspace()
st.title("Data")
evaluate_tab, export_tab, import_tab = st.tabs(["Evaluate", "Export", "Import"])

with evaluate_tab:
    loaded = {spec.name: spec.id for spec in ws.agents()}
    specs = [*loaded, *(f"{s.name}@{s.id}" for s in ws.store.list_specs() if s.id not in loaded.values())]
    spec_col, set_col, split_col = st.columns(3)
    spec_ref = spec_col.selectbox("Agent spec", specs, key="data_eval_agent")
    dataset_ref = set_col.selectbox("Dataset", DATASETS.in_order(), key="data_eval_dataset",
                                    accept_new_options=True, help="A registered set (built-in or from a loaded agent source), or the path of a JSONL file or folder.")
    split = split_col.selectbox("Split", SPLITS, index=1, key="data_eval_split")
    st.caption("Uses the model and LLM mode saved in Settings. Each example becomes a stored, scored tape.")
    if st.button("Evaluate", type="primary", key="data_eval_run"):
        try:
            bar = st.progress(0.0, text="Starting the evaluation…")

            def show(progress: EvalProgress) -> None:
                bar.progress(progress.done / max(1, progress.total), text=progress_text(progress))

            st.session_state.setdefault(EVAL_RUNS, []).append(run_evaluation(ws, spec_ref, dataset_ref, split, show))
        except TapeStudioError as exc:
            st.error("Evaluation failed:")
            st.text(str(exc))
    runs = st.session_state.get(EVAL_RUNS, [])
    if runs:
        st.dataframe(aggregate_rows(runs), hide_index=True)
    if len(runs) >= 2:
        indexes = list(range(len(runs)))
        before_col, after_col = st.columns(2)
        before = before_col.selectbox("Before", indexes, index=len(runs) - 2, format_func=lambda i: label(runs[i]),
                                      key="data_eval_before")
        after = after_col.selectbox("After", indexes, index=len(runs) - 1, format_func=lambda i: label(runs[i]),
                                    key="data_eval_after")
        rows = change_rows(runs[before], runs[after])
        counts = {kind: sum(r["change"] == kind for r in rows) for kind in ("improved", "regressed", "same")}
        st.text(f"{counts['improved']} improved, {counts['regressed']} regressed, {counts['same']} unchanged")
        st.dataframe(rows, hide_index=True)

with export_tab:
    fmt = st.selectbox("Format", EXPORT_FORMATS, format_func=FORMAT_LABELS.get, key="data_export_format")
    agent_col, ok_col, score_col, tag_col = st.columns(4)
    agent = agent_col.selectbox("Agent", sorted(set(ws.store.agents()) | {spec.name for spec in ws.agents()}), index=None,
                                placeholder="any agent", key="data_export_agent")
    successful = ok_col.checkbox("Successful tapes only", key="data_export_successful")
    min_score = score_col.number_input("Score at least", value=None, placeholder="any score", key="data_export_score")
    tags = tag_col.text_input("Tags", placeholder="comma-separated", key="data_export_tags")
    if st.button("Prepare export", type="primary", key="data_export_prepare"):
        selection = TapeSelection(agent=agent, successful=successful, min_score=min_score,
                                  tags=[t.strip() for t in tags.split(",") if t.strip()])
        try:
            st.session_state[EXPORT_RESULT] = (fmt, *export_download(ws, selection, fmt))
        except TapeStudioError as exc:
            st.session_state.pop(EXPORT_RESULT, None)
            st.error("Nothing to export:")
            st.text(str(exc))
    if EXPORT_RESULT in st.session_state:
        done_fmt, payload, report = st.session_state[EXPORT_RESULT]
        name, mime = FILE_NAMES[done_fmt]
        st.text(report.summary())
        st.download_button(f"Download {name}", payload, file_name=name, mime=mime, key="data_export_download")
        if report.skipped:
            st.caption("Step groups not exported, and why")
            st.dataframe(skipped_rows(report), hide_index=True)

with import_tab:
    st.caption("Tape Studio bundles, TapeAgents tapes (JSON or YAML; add their tapedata.sqlite to link LLM calls) "
               "and Tape Studio OTLP exports. Each file is imported whole or not at all.")
    uploads = st.file_uploader("Tape files", type=["json", "jsonl", "eval", "yaml", "yml", "sqlite"], accept_multiple_files=True,
                               key="data_import_files")
    if st.button("Import", type="primary", disabled=not uploads, key="data_import_button"):
        for result in import_uploads(ws, uploads or []):
            if isinstance(result, str):
                st.error("Not imported:")
                st.code(result, language=None, wrap_lines=True)
                continue
            st.success(f"Imported {len(result.imported)} tapes, {len(result.skipped_existing)} already present.")
            if result.fidelity is not None:
                st.text(f"{result.source}: {result.fidelity.summary()}")
                st.json(result.fidelity.model_dump(), expanded=False)
