"""The optimizer stage: every enabled optimizer's proposals for one step, made in parallel."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tape_studio.core.learning.context import Context
from tape_studio.core.learning.demo_optimizer import blamed_nodes, propose_demos
from tape_studio.core.learning.pipeline_optimizer import propose_pipeline
from tape_studio.core.learning.prompt_optimizer import propose_prompt
from tape_studio.core.learning.tool_optimizer import pick_tool, propose_tool
from tape_studio.core.llm import LLMCall
from tape_studio.core.nodes import node_type
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape
from tape_studio.core.learning.steps import AggregatedGradient, Loss, Proposal

Job = Callable[[], tuple[Proposal, LLMCall | None]]


def optimize(
    ctx: Context, spec: AgentSpec, optimizers: Sequence[str], gradients: Sequence[AggregatedGradient],
    failing: Sequence[Tape], losses: Sequence[Loss] = (), batch_ids: Sequence[str] = (),
) -> list[tuple[Proposal, LLMCall | None]]:
    """Proposals for this step: demonstrations for the node the evidence blames most (among those
    with a gradient), one prompt per node with a gradient, one for a tool, one for the graph.
    `losses` are the failing tapes' losses, in the same order."""
    jobs: list[Job] = []
    if "demos" in optimizers:
        by_node = {g.node: g for g in gradients}
        blamed = blamed_nodes(spec, list(zip(failing, losses, strict=True)))
        eligible = [(len(blamed[node.name]), n, node) for n, node in enumerate(spec.nodes)
                    if node.name in blamed and node.name in by_node and node_type(node).needs_llm
                    and not node.prompt.is_empty()]
        if eligible:
            # One node a step, the most blamed (ties: the later one): a candidate that changes two
            # nodes' examples at once is rejected for the worse change and keeps neither.
            _, _, node = max(eligible, key=lambda item: (item[0], item[1]))
            jobs.append(lambda node=node: propose_demos(ctx, spec, node, by_node[node.name], blamed[node.name],
                                                        batch_ids))
    if "prompt" in optimizers:
        for gradient in gradients:
            node = spec.node(gradient.node)
            if node_type(node).needs_llm and not node.prompt.is_empty():
                jobs.append(lambda node=node, gradient=gradient: propose_prompt(ctx, node, gradient))
    tool = pick_tool(spec, failing) if "tool" in optimizers else None
    users = [g for g in gradients if tool in spec.node(g.node).tools]
    if tool and users:
        jobs.append(lambda: propose_tool(ctx, spec, tool, users))
    if "pipeline" in optimizers and gradients:
        jobs.append(lambda: propose_pipeline(ctx, spec, gradients))
    return ctx.map(lambda job: job(), jobs)
