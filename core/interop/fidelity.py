"""What an import kept, repaired and linked: the report every import prints.

The report is measured on the tapes as they will be stored, not on the converter's intentions,
so a count that looks wrong points at a real difference between the file and the store.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, Field

from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import GenericStep, Tape


class FidelityReport(BaseModel):
    """How faithfully one file came in: counts of what was kept, repaired, linked and dropped."""

    source: str
    format: str
    """Which reader took the file: "tape-studio", "tapeagents" or "otlp"."""
    tapes: int = 0
    context_tapes: int = 0
    """Whole tapes nested as another tape's `context` (annotator or user-simulator tapes)."""
    steps: int = 0
    steps_by_family: dict[str, int] = Field(default_factory=dict)
    generic_steps: int = 0
    """Steps of kinds we have no class for, kept whole (every field) as generic steps."""
    generic_kinds: dict[str, int] = Field(default_factory=dict)
    llm_calls: int = 0
    """LLM calls that came with the file and are linked from at least one step."""
    steps_linked: int = 0
    """Steps whose `prompt_id` finds its LLM call."""
    prompt_ids_without_call: int = 0
    """Steps naming a prompt with no recorded call (rule-made steps in TapeAgents do this)."""
    unreferenced_calls: int = 0
    """Calls in the file (or the sqlite beside it) that no step of this file links to; not imported."""
    repairs: list[str] = Field(default_factory=list)
    """Legacy gaps filled deterministically (missing or duplicate ids, null fields), one line each."""
    dropped: list[str] = Field(default_factory=list)
    """Anything of the file that did not make it into the store. Should stay empty."""
    kept: list[str] = Field(default_factory=list)
    """What has no step or field of its own and was kept as generic metadata, one line each (e.g. spans)."""

    def summary(self) -> str:
        """One line for the CLI and the studio."""
        families = ", ".join(f"{n} {family}" for family, n in sorted(self.steps_by_family.items()))
        nested = f" + {self.context_tapes} nested as context" if self.context_tapes else ""
        repaired = f"; {len(self.repairs)} repairs" if self.repairs else ""
        dropped = f"{len(self.dropped)} items: {'; '.join(self.dropped)}" if self.dropped else "nothing"
        return (f"{self.format}: {self.tapes} tapes{nested}, {self.steps} steps ({families or 'none'}), "
                f"{self.generic_steps} generic, {self.llm_calls} LLM calls linked to {self.steps_linked} steps"
                f"{repaired}; dropped: {dropped}" + "".join(f"; kept {line}" for line in self.kept))


def measure(
    source: str, fmt: str, tapes: list[Tape], calls: list[LLMCall],
    context_tapes: Sequence[Tape] = (), repairs: Sequence[str] = (), offered_calls: int | None = None,
) -> FidelityReport:
    """Counts what `tapes` (and their nested context tapes) hold and how their steps link to `calls`."""
    known = {call.prompt_id for call in calls}
    families: Counter[str] = Counter()
    generic: Counter[str] = Counter()
    linked = unlinked = 0
    used: set[str] = set()
    for tape in [*tapes, *context_tapes]:
        for step in tape.steps:
            families[step.family] += 1
            if isinstance(step, GenericStep):
                generic[step.kind] += 1
            prompt_id = step.metadata.prompt_id
            if prompt_id and prompt_id in known:
                linked += 1
                used.add(prompt_id)
            elif prompt_id:
                unlinked += 1
    offered = len(known) if offered_calls is None else offered_calls
    return FidelityReport(
        source=source, format=fmt, tapes=len(tapes), context_tapes=len(context_tapes),
        steps=sum(families.values()), steps_by_family=dict(families), generic_steps=sum(generic.values()),
        generic_kinds=dict(generic), llm_calls=len(used), steps_linked=linked, prompt_ids_without_call=unlinked,
        unreferenced_calls=max(0, offered - len(used)), repairs=list(repairs),
    )
