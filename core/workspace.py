"""A workspace is a store, its LLM cache and the model settings: what the CLI and studio act on.

The operations here (run, resume, fork, import, export) are the ones a user names; they compose
the pure parts (tapes, forks) with the effectful ones (store, LLM) in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tape_studio.core import config
from tape_studio.core.agent import Agent
from tape_studio.core.agents import build_agent, build_environment, builtin_spec
from tape_studio.core.cache import LLMCache
from tape_studio.core.config import LLMMode
from tape_studio.core.errors import InputError, NotFoundError
from tape_studio.core.interop import tape_files
from tape_studio.core.interop.exporting import ExportFormat, ExportReport, TapeSelection, export_to_file
from tape_studio.core.interop.formats import read_file
from tape_studio.core.llm import LLM
from tape_studio.core.loop import Event, RunEnded, run
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store
from tape_studio.core.tape import StepBase, Tape, TapeMetadata, Task, fork_tape, parse_step


class Workspace:
    """Opens (or creates) a store and the cache beside it; builds agents with the chosen model."""

    def __init__(
        self, store: str | os.PathLike[str] | None = None, model: str | None = None, mode: LLMMode | None = None
    ) -> None:
        self.store = Store(config.store_path(store))
        self.cache = LLMCache(config.cache_dir(self.store.path))
        self.llm = LLM(model=model, mode=mode, cache=self.cache)

    # --- agents ------------------------------------------------------------------------------

    def spec(self, ref: str) -> AgentSpec:
        """A spec by built-in name (`qa`), by stored id, or as `name@spec_id`."""
        name, _, spec_id = ref.partition("@")
        if spec_id:
            return self.store.load_spec(spec_id)
        try:
            return builtin_spec(name)
        except NotFoundError:
            try:
                return self.store.load_spec(name)
            except NotFoundError:
                raise NotFoundError(f"no agent or spec {ref!r}") from None

    def agent(self, spec: AgentSpec) -> Agent:
        return build_agent(spec, self.llm)

    # --- sessions ----------------------------------------------------------------------------

    def new_tape(self, spec: AgentSpec, task: str) -> Tape:
        if not task.strip():
            raise InputError("the task is empty")
        metadata = TapeMetadata(agent=spec.name, author=spec.name, spec_id=spec.id, title=task.strip()[:120])
        return Tape(metadata=metadata, steps=(Task(text=task.strip()),))

    def run(self, agent_ref: str, task: str, max_iterations: int | None = None) -> Iterator[Event]:
        spec = self.spec(agent_ref)
        return self.continue_tape(self.new_tape(spec, task), spec, max_iterations)

    def resume(self, tape_id: str, max_iterations: int | None = None) -> Iterator[Event]:
        """Continues a stored tape (killed, paused, failed or forked) with the spec that made it."""
        tape = self.store.load_tape(tape_id)
        if tape.metadata.status == "completed":
            return iter([RunEnded(tape=tape, reason="completed", new_llm_calls=0)])
        return self.continue_tape(tape, self.spec_of(tape), max_iterations)

    def continue_tape(self, tape: Tape, spec: AgentSpec, max_iterations: int | None = None) -> Iterator[Event]:
        agent = self.agent(spec)
        return run(agent, build_environment(agent), tape, self.store, max_iterations=max_iterations)

    def spec_of(self, tape: Tape) -> AgentSpec:
        meta = tape.metadata
        if meta.spec_id:
            try:
                return self.store.load_spec(meta.spec_id)
            except NotFoundError:
                pass
        if not meta.agent:
            raise InputError(f"tape {tape.id!r} names no agent, so it cannot be continued")
        return builtin_spec(meta.agent)

    def fork(self, tape_id: str, at: int, replacement: list[dict[str, Any]] | None = None) -> Tape:
        """Saves a fork of a stored tape at step `at`, with replacement steps given as JSON dicts.

        A replacement without metadata inherits the node and agent of the step it replaces, so
        the agent knows whose turn the edited step belongs to."""
        tape = self.store.load_tape(tape_id)
        if not 0 <= at <= len(tape.steps):
            raise InputError(f"--at {at} is outside tape {tape_id!r}, which has {len(tape.steps)} steps")
        steps = [self._replacement(tape, at + n, data) for n, data in enumerate(replacement or [])]
        forked = fork_tape(tape, at, steps)
        self.store.save_tape(forked)
        return forked

    def _replacement(self, tape: Tape, index: int, data: dict[str, Any]) -> StepBase:
        if not isinstance(data, dict) or "kind" not in data:
            raise InputError("a replacement step must be a JSON object with a 'kind'")
        try:
            step = parse_step(data)
        except Exception as exc:
            raise InputError(f"replacement step: {tape_files.describe_validation_error(exc)}") from None
        if "metadata" not in data and index < len(tape.steps):
            original = tape.steps[index].metadata
            step = step.model_copy(update={"metadata": step.metadata.model_copy(
                update={"node": original.node, "agent": original.agent})})
        return step

    # --- files -------------------------------------------------------------------------------

    def export(self, tape_ids: list[str], out: Path) -> int:
        tapes = [self.store.load_tape(tape_id) for tape_id in tape_ids]
        calls = [call for tape_id in tape_ids for call in self.store.calls_for_tape(tape_id)]
        tape_files.write_bundle(out, tapes, calls)
        return len(tapes)

    def import_file(self, path: Path) -> tape_files.ImportReport:
        """Imports one file whole or not at all; tapes already in the store are left as they are.

        Our bundles, TapeAgents tapes (JSON or YAML, with `tapedata.sqlite` beside) and our OTLP
        exports are told apart by content; the report says how faithfully the file came in."""
        loaded = read_file(path)
        report = tape_files.save_bundle(self.store, loaded.bundle, source=path)
        return report.model_copy(update={"format": loaded.format, "fidelity": loaded.fidelity})

    def export_data(self, selection: TapeSelection, fmt: ExportFormat, out: Path) -> ExportReport:
        """Writes the selected tapes as a bundle, fine-tuning data (sft, dpo) or OTLP traces (otel)."""
        return export_to_file(self, selection, fmt, out)
