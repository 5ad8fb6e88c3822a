"""The LLM judge: a 0–10 grade and reasons for outputs that have no reference answer.

The judge's prompt is fixed (never trained), it sees only the request and the text, and it is
told to ignore instructions inside the text: the agent being trained cannot edit its grader.
"""

from __future__ import annotations

from tape_studio.core.learning import structured
from tape_studio.core.learning.metrics import MetricResult
from tape_studio.core.learning.prompts import JUDGE
from tape_studio.core.llm import LLM, LLMCall, Prompt


def judge_prompt(request: str, text: str) -> Prompt:
    """The judge's prompt for `text` written for `request` (a cost preview looks it up in the cache)."""
    return JUDGE.build(f"Request: {structured.clip(request, 300)}\nText: {structured.clip(text, 800)}")


def judge(llm: LLM, request: str, text: str) -> tuple[MetricResult, LLMCall]:
    """Grades `text` written for `request`; unreadable judge output scores 0 and says so."""
    call = llm.complete(judge_prompt(request, text), params=JUDGE.params)
    data = structured.read_object(call.output) if not call.error else None
    grade = data.get("score") if data else None
    if isinstance(grade, str) and grade.strip().isdigit():
        grade = int(grade.strip())
    if not isinstance(grade, (int, float)) or isinstance(grade, bool):
        reason = call.error or "the judge's output could not be read as a grade"
        return MetricResult(score=0.0, feedback=f"No grade: {reason}."), call
    value = min(max(float(grade), 0.0), 10.0) / 10.0
    reasons = structured.field_text(data or {}, "reasons", 200) or "no reasons given"
    return MetricResult(score=round(value, 4), feedback=f"Judge: {grade}/10. {reasons}"), call
