"""A workspace is a store, its LLM cache and the model settings: what the CLI and studio act on.

The operations here (run, resume, fork, import, export) are the ones a user names; they compose
the pure parts (tapes, forks) with the effectful ones (store, LLM) in one place.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from tape_studio.core import config, plugins
from tape_studio.core.agent import Agent
from tape_studio.core.approvals import Breakpoints, resume_point
from tape_studio.core.cache import LLMCache
from tape_studio.core.catalog import AGENTS, agent_source, build_agent, build_environment, subagent_names
from tape_studio.core.config import LLMMode
from tape_studio.core.environment import Environment
from tape_studio.core.errors import ConfigError, InputError, NotFoundError, TapeStudioError
from tape_studio.core.files import MAX_INPUT_BYTES, check_text, check_values, write_atomic
from tape_studio.core.registry import BUILTIN
from tape_studio.core.interop import tape_files
from tape_studio.core.interop.exporting import ExportFormat, ExportReport, TapeSelection, export_to_file
from tape_studio.core.interop.formats import read_file
from tape_studio.core.leases import mark_interrupted
from tape_studio.core.llm import LLM
from tape_studio.core.loop import Event, RunEnded, run
from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store
from tape_studio.core.tape import StepBase, Tape, TapeMetadata, Task, fork_tape, parse_step


class Workspace:
    """Opens (or creates) a store and the cache beside it; builds agents with the chosen model.

    The built-in agents and every configured source are loaded on first use; `agents` names
    more sources (files or modules) to load, as `--agents` does."""

    def __init__(
        self, store: str | os.PathLike[str] | None = None, model: str | None = None, mode: LLMMode | None = None,
        agents: Sequence[str] = (),
    ) -> None:
        plugins.load_agents(*agents)
        self.store = Store(config.store_path(store))
        self.cache = LLMCache(config.cache_dir(self.store.path))
        self.llm = LLM(model=model, mode=mode, cache=self.cache)
        mark_interrupted(self.store)  # tapes whose process died show so, and resume like any other

    # --- agents ------------------------------------------------------------------------------

    def spec(self, ref: str) -> AgentSpec:
        """A spec by agent name (the version its source defines), by stored id, or as `NAME@SPEC_ID`."""
        name, _, spec_id = ref.partition("@")
        if spec_id:
            spec = self.store.load_spec(spec_id)
            if name and spec.name != name:
                raise NotFoundError(f"spec {spec_id!r} belongs to agent {spec.name!r}, not {name!r}")
            return spec
        found = AGENTS.find(name)
        if found is not None:
            return found
        try:
            return self.store.load_spec(name)
        except NotFoundError:
            known = ", ".join(AGENTS.names()) or "none"
            raise NotFoundError(f"no agent or spec {ref!r} (agents loaded: {known}; "
                                "load yours with --agents FILE.py or TAPE_STUDIO_AGENTS)") from None

    def agents(self) -> list[AgentSpec]:
        """Every loaded agent: the user's sources' first, then the built-in ones, each in load order."""
        names = sorted(AGENTS.in_order(), key=lambda name: AGENTS.source(name) == BUILTIN)
        return [AGENTS.get(name) for name in names]

    def subagent_spec(self, name: str) -> AgentSpec:
        """A sub-agent by name: a loaded source's, else the newest version stored (a bundle brought it)."""
        found = AGENTS.find(name)
        if found is not None:
            return found
        stored = self.store.list_specs(name)
        if stored:
            return stored[-1]
        raise ConfigError(f"sub-agent {name!r} is not loaded and no spec of it is stored; "
                          "load its source with --agents or TAPE_STUDIO_AGENTS")

    def agent(self, spec: AgentSpec, llm: LLM | None = None) -> Agent:
        return build_agent(spec, llm or self.llm, self.subagent_spec)

    def environment(self, agent: Agent) -> Environment:
        return build_environment(agent)

    def team_specs(self, spec: AgentSpec) -> list[AgentSpec]:
        """`spec` and the specs of its sub-agents (recursively), as a bundle carries them."""
        found: dict[str, AgentSpec] = {}
        stack = [spec]
        while stack:
            current = stack.pop()
            if current.id in found:
                continue
            found[current.id] = current
            for name in sorted(subagent_names(current)):
                try:
                    stack.append(self.subagent_spec(name))
                except ConfigError:
                    continue
        return list(found.values())

    # --- sessions ----------------------------------------------------------------------------

    def new_tape(self, spec: AgentSpec, task: str) -> Tape:
        if not task.strip():
            raise InputError("the task is empty")
        check_text("the task", task)
        metadata = TapeMetadata(agent=spec.name, author=spec.name, spec_id=spec.id, title=task.strip()[:120],
                                agent_source=agent_source(spec.name))
        return Tape(metadata=metadata, steps=(Task(text=task.strip()),))

    def run(self, agent_ref: str, task: str, max_iterations: int | None = None,
            breakpoints: Breakpoints | None = None) -> Iterator[Event]:
        spec = self.spec(agent_ref)
        return self.continue_tape(self.new_tape(spec, task), spec, max_iterations, breakpoints)

    def resume(self, tape_id: str, max_iterations: int | None = None,
               breakpoints: Breakpoints | None = None) -> Iterator[Event]:
        """Continues a stored tape (killed, paused, failed, forked or approved) with the spec that made it."""
        tape = self.store.load_tape(tape_id)
        if tape.metadata.status == "completed":
            return iter([RunEnded(tape=tape, reason="completed", new_llm_calls=0)])
        return self.continue_tape(tape, self.spec_of(tape), max_iterations, breakpoints)

    def continue_tape(self, tape: Tape, spec: AgentSpec, max_iterations: int | None = None,
                      breakpoints: Breakpoints | None = None) -> Iterator[Event]:
        """Runs `tape` on; a decided pause lets its move go, and the breakpoints of the paused run stay set."""
        agent = self.agent_for(tape, spec)
        points, approved = resume_point(self.store, tape.id, breakpoints)
        return run(agent, build_environment(agent), tape, self.store, max_iterations=max_iterations,
                   breakpoints=points, approved=approved)

    def agent_for(self, tape: Tape, spec: AgentSpec, llm: LLM | None = None) -> Agent:
        """The agent that continues `tape`; if its tools or node types are not loaded, the error
        says which source the tape came from."""
        try:
            return self.agent(spec, llm)
        except ConfigError as exc:
            raise ConfigError(f"{exc}{_source_hint(tape)}") from None

    def spec_of(self, tape: Tape) -> AgentSpec:
        meta = tape.metadata
        if meta.spec_id:
            try:
                return self.store.load_spec(meta.spec_id)
            except NotFoundError:
                pass
        if not meta.agent:
            raise InputError(f"tape {tape.id!r} names no agent, so it cannot be continued")
        found = AGENTS.find(meta.agent)
        if found is None:
            raise ConfigError(f"tape {tape.id!r} was made by agent {meta.agent!r}, which is not loaded here"
                              f"{_source_hint(tape)}")
        return found

    def fork(self, tape_id: str, at: int, replacement: list[dict[str, Any]] | None = None) -> Tape:
        """Saves a fork of a stored tape at step `at`, with replacement steps given as JSON dicts.

        A replacement without metadata inherits the node and agent of the step it replaces, so
        the agent knows whose turn the edited step belongs to."""
        tape = self.store.load_tape(tape_id)
        if not 0 <= at <= len(tape.steps):
            raise InputError(f"--at {at} is outside tape {tape_id!r}, which has {len(tape.steps)} steps")
        steps = [self._replacement(tape, at + n, data) for n, data in enumerate(replacement or [])]
        forked = fork_tape(tape, at, steps)
        forked = forked.with_metadata(title=fork_title(tape.metadata.title, at, steps))
        self.store.save_tape(forked)
        return forked

    def _replacement(self, tape: Tape, index: int, data: dict[str, Any]) -> StepBase:
        if not isinstance(data, dict) or "kind" not in data:
            raise InputError("a replacement step must be a JSON object with a 'kind'")
        check_values("replacement step", data)
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

    def bundle(self, tape_ids: list[str]) -> str:
        """The tapes as one importable file, with the LLM calls their steps link to and their specs."""
        tapes = [self.store.load_tape(tape_id) for tape_id in tape_ids]
        calls = [call for tape_id in tape_ids for call in self.store.calls_for_tape(tape_id)]
        return tape_files.dump_bundle(tapes, calls, self.specs_of(tapes))

    def export(self, tape_ids: list[str], out: Path) -> int:
        write_atomic(Path(out), self.bundle(tape_ids))
        return len(tape_ids)

    def specs_of(self, tapes: list[Tape]) -> list[AgentSpec]:
        """The specs (and their sub-agents' specs) that made `tapes`, so a bundle can be rerun elsewhere."""
        specs: dict[str, AgentSpec] = {}
        for spec_id in sorted({tape.metadata.spec_id for tape in tapes if tape.metadata.spec_id}):
            try:
                spec = self.store.load_spec(spec_id)
            except NotFoundError:
                continue
            specs.update((s.id, s) for s in self.team_specs(spec))
        return list(specs.values())

    def import_file(self, path: Path, max_bytes: int = MAX_INPUT_BYTES) -> tape_files.ImportReport:
        """Imports one file whole or not at all; tapes already in the store are left as they are.

        Our bundles, TapeAgents tapes (JSON or YAML, with `tapedata.sqlite` beside) and our OTLP
        exports are told apart by content; the report says how faithfully the file came in. Any
        failure is an InputError naming the file, so that an import of many files goes on."""
        try:
            loaded = read_file(path, max_bytes)
        except TapeStudioError:
            raise
        except (RecursionError, MemoryError):
            raise InputError(f"{path}: too deeply nested or too large to read; nothing imported") from None
        except Exception as exc:  # noqa: BLE001 -- a reader's own fault must not end the other files' import
            raise InputError(f"{path}: cannot import: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}") from None
        if loaded.traces is not None:  # foreign OTLP: merged with the other pieces of its traces
            from tape_studio.core.interop.traces.files import import_traces

            return import_traces(self.store, path, loaded.traces)
        report = tape_files.save_bundle(self.store, loaded.bundle, source=path)
        return report.model_copy(update={"format": loaded.format, "fidelity": loaded.fidelity})

    def export_data(self, selection: TapeSelection, fmt: ExportFormat, out: Path) -> ExportReport:
        """Writes the selected tapes as a bundle, fine-tuning data (sft, dpo) or OTLP traces (otel)."""
        return export_to_file(self, selection, fmt, out)


def _source_hint(tape: Tape) -> str:
    source = tape.metadata.agent_source
    if source and source != "builtin":
        return f"; this tape's agent comes from {source}: load it with --agents {source}"
    return "; load the source that defines its agent with --agents FILE.py (or TAPE_STUDIO_AGENTS)"


def change_of_fork(at: int, steps: Sequence[StepBase]) -> str:
    """What a fork changed, in the one wording used everywhere: `edit step 2: tool_call calculator(...)`
    when a person wrote step `at`, else `rerun from step 2` (steps 0..at-1 are the parent's)."""
    if steps:
        return f"edit step {at}: {steps[0].kind} {steps[0].summary()}"[:100]
    return f"rerun from step {at}"


def fork_title(parent_title: str, at: int, steps: Sequence[StepBase]) -> str:
    root = parent_title.split(" · ", 1)[0]  # a fork of a fork names its own change, not the whole chain
    return f"{root} · {change_of_fork(at, steps)}"[:200]
