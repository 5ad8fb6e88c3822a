from concurrent.futures import ThreadPoolExecutor

import pytest

from tape_studio.core.learning.meter import (
    Budget,
    BudgetExceeded,
    Meter,
    MeteredLLM,
    Usage,
    combine,
    total,
)
from tape_studio.core.llm import LLM, LLMCall, Prompt


def call(cached: bool = False, cost: float = 0.0) -> LLMCall:
    return LLMCall(model="m", messages=[], prompt_tokens=3, completion_tokens=2, cost=cost, cached=cached)


def test_usage_is_counted_per_role_and_cache_hits_are_not_new() -> None:
    meter = Meter()
    meter.record("backward", call())
    meter.record("backward", call(cached=True))
    meter.record("judge", call(cost=0.5))
    usage = meter.snapshot()
    assert usage["backward"] == Usage(calls=2, new_calls=1, prompt_tokens=6, completion_tokens=4)
    assert total(usage).cost == 0.5 and combine(usage, usage)["judge"].calls == 2


def test_since_gives_only_what_was_added() -> None:
    meter = Meter()
    meter.record("a", call())
    before = meter.snapshot()
    meter.record("b", call())
    assert meter.since(before) == {"b": Usage(calls=1, new_calls=1, prompt_tokens=3, completion_tokens=2)}


def test_the_call_budget_holds_under_parallel_workers() -> None:
    from tape_studio.core.fake_llm import register_fake

    meter = Meter(Budget(max_llm_calls=5))
    llm = MeteredLLM(LLM(model=register_fake("meter-budget", lambda m, p: "ok", 0.05), mode="live"), meter, "eval")

    def one(n: int) -> str:
        try:
            return llm.complete(Prompt(messages=[{"role": "user", "content": str(n)}])).output
        except BudgetExceeded:
            return "refused"

    with ThreadPoolExecutor(8) as pool:
        outputs = list(pool.map(one, range(12)))
    assert outputs.count("ok") == 5 and total(meter.snapshot()).new_calls == 5


def test_the_cost_budget_stops_after_the_limit() -> None:
    meter = Meter(Budget(max_cost=1.0))
    meter.record("judge", call(cost=1.0))
    with pytest.raises(BudgetExceeded, match=r"\$1.0000 of \$1.0000"):
        meter.check()
