"""`which: every` during the rerun: each step the fork's rerun makes that matches the rule is edited
as it is made, so no matching step of the fork escapes the edit.

The fork starts at the first matching step of the original (edited there); the original's later
steps are not kept, because they were made from the unedited history. From there the agent's
nodes and the environment make new steps, and these wrappers edit the matching ones before the
loop writes them: tool results as the environment returns them, the agent's steps as its nodes
(and its sub-agents' nodes) return them. The agent then sees the edited steps, as the issue's
"what if every lookup had returned the full article" asks.
"""

from __future__ import annotations

from tape_studio.core.agent import Agent, Visit
from tape_studio.core.environment import Environment
from tape_studio.core.experiments.rules import SpecPatch, StepEdit, edit_step
from tape_studio.core.llm import LLMCall
from tape_studio.core.tape import StepBase, Tape


def edits_rerun(rule: StepEdit | SpecPatch) -> bool:
    """Whether the rerun's own steps are edited. Never for delete: a deleted step would be made again
    at once, forever (parse_rule refuses `every` with delete; a rule built in code acts as `first`)."""
    return isinstance(rule, StepEdit) and rule.match.which == "every" and rule.action != "delete"


def for_rerun(rule: StepEdit | SpecPatch, agent: Agent, env: Environment) -> tuple[Agent, Environment]:
    """The agent and environment that rerun a fork of `rule`: wrapped when the rule edits every match."""
    if not isinstance(rule, StepEdit) or not edits_rerun(rule):
        return agent, env
    return EditingAgent(agent, rule), EditingEnvironment(env, rule)


def edit_matching(rule: StepEdit, steps: list[StepBase]) -> list[StepBase]:
    return [out for step in steps for out in (edit_step(rule, step) if rule.match.matches(step) else [step])]


class EditingAgent(Agent):
    """`base` (and its sub-agents), with the rule applied to the steps each node visit returns."""

    def __init__(self, base: Agent, rule: StepEdit) -> None:
        subagents = {name: EditingAgent(sub, rule) for name, sub in base.subagents.items()}
        super().__init__(base.spec, base.llm, tools=base.tools, subagents=subagents)
        self.rule = rule

    def run_node(self, visit: Visit) -> tuple[list[StepBase], LLMCall | None]:
        steps, call = super().run_node(visit)
        return edit_matching(self.rule, steps), call


class EditingEnvironment(Environment):
    """`base`'s tools, with the rule applied to the results they return."""

    def __init__(self, base: Environment, rule: StepEdit) -> None:
        self.tools = base.tools
        self.rule = rule

    def react(self, tape: Tape) -> list[StepBase]:  # type: ignore[override]
        return edit_matching(self.rule, list(super().react(tape)))
