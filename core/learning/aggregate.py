"""Aggregation: the gradients each node received over a minibatch, merged into one text.

Gradients are grouped by node name (not by visit index), repeats are dropped, and a text above
the token cap is summarised by the model (or, if that fails, cut) so that the optimizer's context
cannot overflow however large the minibatch.
"""

from __future__ import annotations

from tape_studio.core.learning import structured
from tape_studio.core.learning.context import Context
from tape_studio.core.learning.metrics import normalize
from tape_studio.core.learning.prompts import SUMMARY
from tape_studio.core.llm import LLMCall
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import StepMetadata
from tape_studio.core.learning.steps import AggregatedGradient, Gradient

Record = tuple[AggregatedGradient, LLMCall | None]


def estimate_tokens(text: str) -> int:
    """About four characters a token: close enough to decide when to summarise."""
    return (len(text) + 3) // 4


def aggregate(ctx: Context, spec: AgentSpec, gradients: list[Gradient]) -> list[Record]:
    """One aggregated gradient per node that received any, in the spec's node order."""
    by_node: dict[str, list[Gradient]] = {}
    for gradient in gradients:
        if gradient.parameter:
            by_node.setdefault(gradient.node, []).append(gradient)
    nodes = [node.name for node in spec.nodes if node.name in by_node]
    return ctx.map(lambda name: _aggregate_node(ctx, name, by_node[name]), nodes)


def _aggregate_node(ctx: Context, node: str, gradients: list[Gradient]) -> Record:
    lines: list[str] = []
    seen: set[str] = set()
    for gradient in gradients:
        key = normalize(gradient.parameter)
        if key not in seen:
            seen.add(key)
            lines.append(f"- {gradient.parameter}")
    text = "\n".join(lines)
    sources = tuple(g.metadata.id for g in gradients)
    meta = StepMetadata(node="aggregate", agent="trainer")
    if estimate_tokens(text) <= ctx.token_cap:
        return AggregatedGradient(metadata=meta, node=node, text=text, sources=sources), None
    summary, call = _summarise(ctx, text)
    meta = meta.model_copy(update={"prompt_id": call.prompt_id})
    return AggregatedGradient(metadata=meta, node=node, text=summary, sources=sources, summarized=True), call


def _summarise(ctx: Context, text: str) -> tuple[str, LLMCall]:
    """A model-written summary; if it is unreadable, the first lines that fit the cap."""
    call = ctx.llm_for("summary").complete(SUMMARY.build(f"Notes:\n{structured.clip(text, 4000)}"),
                                           params=SUMMARY.params)
    data = structured.read_object(call.output) if not call.error else None
    summary = structured.field_text(data or {}, "summary", 4 * ctx.token_cap)
    if summary:
        return summary, call
    kept: list[str] = []
    for line in text.splitlines():
        if estimate_tokens("\n".join([*kept, line])) > ctx.token_cap:
            break
        kept.append(line)
    return "\n".join(kept) or structured.clip(text, 4 * ctx.token_cap), call
