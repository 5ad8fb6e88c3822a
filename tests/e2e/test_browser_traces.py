"""Hostile text in received spans stays inert in a real browser: a trace whose attributes carry
HTML, script and Markdown links is received over OTLP, and its tape is opened in headless Chromium."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tape_studio.core.interop.traces.ingest import ingest
from tape_studio.core.interop.traces.spans import Span, TraceBatch
from tape_studio.core.store import Store
from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>[click](javascript:alert(3))"
TRACE = "ab" * 16


def _span(span_id: str, parent: str, start: int, attributes: dict[str, Any], name: str = HOSTILE) -> Span:
    return Span(trace_id=TRACE, span_id=span_id, parent_id=parent, name=name, start_ns=start, end_ns=start + 10,
                attributes=attributes)


def _hostile_trace() -> TraceBatch:
    call = {"type": "tool_call", "id": "c1", "name": HOSTILE, "arguments": {"q": HOSTILE}}
    return TraceBatch(spans=[
        _span("01" * 8, "", 1, {"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": HOSTILE}),
        _span("02" * 8, "01" * 8, 2, {"gen_ai.operation.name": "chat", "gen_ai.request.model": HOSTILE,
                                      "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                                          {"type": "text", "content": HOSTILE}]}]),
                                      "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [call]}]),
                                      "hostile.attribute": HOSTILE}),
        _span("03" * 8, "01" * 8, 3, {"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": HOSTILE,
                                      "gen_ai.tool.call.id": "c1", "gen_ai.tool.call.result": "tool says " + HOSTILE}),
    ])


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, str]]:
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("studio")
    store = Store(folder / "store.sqlite")
    (tape_id,) = ingest(store, _hostile_trace()).tapes
    store.close()
    with serve(folder / "store.sqlite") as url, chromium(folder / "profile") as driver:
        yield url, driver, tape_id


def test_a_received_trace_with_hostile_attributes_shows_as_text_and_runs_nothing(studio: tuple[str, Any, str]) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    url, driver, tape_id = studio
    # Step 2 is the tool's result: the inspector draws the step at the cursor whole, as text (the
    # list beside it shows each step as one shortened line).
    driver.get(f"{url}/?tape={tape_id}&step=2")
    shown = wait_for_text(driver, "tool says " + HOSTILE)
    assert shown.is_displayed()
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018  (reading it is the check)
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x'], img[onerror], a[href^='javascript']") == []
    injected = driver.execute_script(
        "return Array.from(document.scripts).filter(s => s.text.includes('alert(')).length")
    assert injected == 0
