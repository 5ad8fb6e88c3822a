"""The judge's share of an experiment's cost preview: the judge grades both sides of every tape.

Each side's judge request follows from the tape's task and final answer, so it is looked up in
the cache like any other call. The original's answer is known. The fork's is known when the fork
already finished (a resumed experiment) or when the cache answers its whole rerun: the rerun is
then replayed over the cache, in memory, to read the answer it ends with. Otherwise the fork's
judge call is counted as new and the preview is not exact.
"""

from __future__ import annotations

from dataclasses import dataclass

from tape_studio.core.agent import Agent
from tape_studio.core.cache import LLMCache
from tape_studio.core.environment import Environment
from tape_studio.core.errors import TapeStudioError
from tape_studio.core.experiments.rerun_edits import for_rerun
from tape_studio.core.experiments.rules import EditRule
from tape_studio.core.experiments.scoring import answer_of, task_of
from tape_studio.core.learning.judge import judge_prompt
from tape_studio.core.learning.prompts import JUDGE
from tape_studio.core.llm import LLM
from tape_studio.core.loop import run_to_end
from tape_studio.core.spec import AgentSpec
from tape_studio.core.tape import Tape, new_id
from tape_studio.core.workspace import Workspace


@dataclass(frozen=True)
class JudgeCalls:
    """The judge calls one tape's scoring makes."""

    calls: int = 0
    cached: int = 0
    exact: bool = True


def judge_calls(ws: Workspace, llm: LLM, cache: LLMCache, original: Tape, fork: Tape, spec: AgentSpec,
                rule: EditRule, rerun_exact: bool) -> JudgeCalls:
    """Both sides' judge calls. A side that does not complete scores 0 without a call (see run_scorer)."""
    sides: list[Tape | None] = [original]
    if fork.metadata.status in ("completed", "failed"):
        sides.append(fork)
    else:
        sides.append(_replayed(ws, llm, cache, fork, spec, rule) if rerun_exact else None)
    calls = cached = 0
    exact = True
    for side in sides:
        if side is None:  # the fork's answer is not known before the rerun: a new call, most likely
            calls, exact = calls + 1, False
            continue
        if side.metadata.status != "completed":
            continue
        calls += 1
        request = llm.request(judge_prompt(task_of(side), answer_of(side)), params=JUDGE.params)
        cached += llm.mode != "live" and cache.get(request) is not None
    return JudgeCalls(calls=calls, cached=cached, exact=exact)


def _replayed(ws: Workspace, llm: LLM, cache: LLMCache, fork: Tape, spec: AgentSpec, rule: EditRule) -> Tape | None:
    """The fork as its rerun ends when the cache answers every call (nothing is written); None when it cannot."""
    replay = LLM(model=llm.model, mode="replay", cache=cache, params=llm.params)
    try:
        agent, env = for_rerun(rule, *_built(ws, fork, spec, replay))
        ended = run_to_end(agent, env, fork.with_metadata(id=new_id()), store=None).tape
    except TapeStudioError:  # a replay miss: some call is not in the cache after all
        return None
    return ended


def _built(ws: Workspace, fork: Tape, spec: AgentSpec, llm: LLM) -> tuple[Agent, Environment]:
    agent = ws.agent_for(fork, spec, llm)
    return agent, ws.environment(agent)
