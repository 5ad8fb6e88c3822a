"""check_values answers first without naming places (fast, issue 15) and only then walks again to say
where: a value it refuses and a value it accepts must be exactly those the naming walk decides."""

from __future__ import annotations

from typing import Any

import pytest

from tape_studio.core.errors import InputError
from tape_studio.core.files import MAX_DEPTH, _walk, check_text, check_values


def nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for n in range(depth):
        value = [value] if n % 2 else {"k": value}
    return value


def naming_walk_verdict(data: Any, scan_text: bool) -> str:
    """What the walk that names every place decides (the slow path, kept for messages)."""
    try:
        for where, value, depth in _walk(data):
            if depth > MAX_DEPTH:
                return f"deep at {where}"
            if scan_text and isinstance(value, str):
                check_text(where, value)
    except InputError as exc:
        return f"text: {exc}"
    return "fine"


CASES = [
    nested(MAX_DEPTH), nested(MAX_DEPTH + 1), nested(MAX_DEPTH, leaf=[]), nested(MAX_DEPTH, leaf={}),
    nested(MAX_DEPTH - 1, leaf=[1]), nested(MAX_DEPTH - 1, leaf={"a": {}}), nested(MAX_DEPTH + 30),
    {"ok": ["fine", {"text": "caf\u00e9 😀"}]}, {"bad": ["fine", "lone \ud800"]}, {"key \udc80": 1},
    "top \ud800", "top", [], {}, 3, None, [{"a": [1, 2, {"b": "x\udcff"}]}],
]


@pytest.mark.parametrize("data", CASES)
@pytest.mark.parametrize("scan_text", [True, False])
def test_the_fast_check_decides_as_the_naming_walk_does(data: Any, scan_text: bool) -> None:
    verdict = naming_walk_verdict(data, scan_text)
    if verdict == "fine":
        check_values("f.json", data, scan_text=scan_text)
        return
    with pytest.raises(InputError) as raised:
        check_values("f.json", data, scan_text=scan_text)
    message = str(raised.value)
    assert message.startswith("f.json: ") and "\n" not in message
    if verdict.startswith("deep at "):
        assert f"{verdict.removeprefix('deep at ')}: nested deeper than {MAX_DEPTH} levels" in message
    else:
        assert verdict.removeprefix("text: ") in message
