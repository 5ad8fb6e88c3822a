"""The debugger in a real browser (headless Chromium), on agents answered by fake models:
"Next error" on a 10,000-step tape leaves the step and its inspector on screen; Stop and Step once
leave the header and `tape-studio list` saying paused or completed, never running; an approval
pause survives a restart of the studio."""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from debugger_agents import CAREFUL_QA, SLOW_QA

from tape_studio.core.spec import AgentSpec
from tape_studio.core.store import Store
from tape_studio.core.tape import ErrorStep, StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

pytestmark = pytest.mark.browser

AGENTS = Path(__file__).with_name("debugger_agents.py")
ERROR_AT = 7321


def new_tape(spec: AgentSpec, task: str = "What is 17 times 23?") -> Tape:
    return Tape(metadata=TapeMetadata(agent=spec.name, author=spec.name, spec_id=spec.id, title=task),
                steps=(Task(text=task),))


@functools.cache
def long_tape() -> Tape:
    """Built once, when a test asks for it (not when the module is collected)."""
    steps: list[Any] = [Task(text="a long session")]
    steps += [Thought(text=f"thinking {i}", metadata=StepMetadata(node="act", agent="bench")) for i in range(1, 10_000)]
    steps[ERROR_AT] = ErrorStep(source="tool", message="the first error", metadata=StepMetadata(node="act", agent="bench"))
    return Tape(metadata=TapeMetadata(agent="bench", title="10,000 steps", status="failed"), steps=tuple(steps))


def _visits() -> Tape:
    by = {"agent": SLOW_QA.name}
    return new_tape(SLOW_QA).model_copy(update={"steps": (
        Task(text="What is 17 times 23?"), Thought(text="first plan", metadata=StepMetadata(node="plan", **by)),
        Thought(text="the answer node", metadata=StepMetadata(node="answer", **by)),
        Thought(text="second plan", metadata=StepMetadata(node="plan", **by)))})


VISITS = _visits()
"""plan, answer, plan: two visits of plan."""
STOPPED, STEPPED = new_tape(SLOW_QA), new_tape(SLOW_QA, "What is 17 times 23, step by step?")
FOLLOWED = new_tape(SLOW_QA, "What is 17 times 23, while you watch?")


def seeded(folder: Path, *tapes: Tape) -> Path:
    store = Store(folder / "store.sqlite")
    for spec in (SLOW_QA, CAREFUL_QA):
        store.save_spec(spec)
    for tape in tapes:
        store.save_tape(tape)
    store.close()
    return folder / "store.sqlite"


@pytest.fixture(scope="module")
def environment(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The studio (and `tape-studio list`) load the fake-model agents and keep to a temporary home."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TAPE_STUDIO_AGENTS", str(AGENTS))
        patch.setenv("TAPE_STUDIO_HOME", str(tmp_path_factory.mktemp("home")))
        yield


@pytest.fixture(scope="module")
def studio(environment: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any, Path]]:
    """One studio and browser for the tests that need no restart, on a store holding all their tapes."""
    folder = tmp_path_factory.mktemp("studio")
    store = seeded(folder, long_tape(), VISITS, STOPPED, STEPPED, FOLLOWED)
    with serve(store) as url, chromium(folder / "profile") as driver:
        yield url, driver, store


def listed_status(store: Path, tape_id: str) -> str:
    out = subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", "list", "--store", str(store), "--json"],
                         capture_output=True, text=True, check=True, env=os.environ).stdout
    return next(row["status"] for row in json.loads(out) if row["id"] == tape_id)


def until(driver: Any, condition: Any, timeout_s: float = 30) -> Any:
    """Waits for `condition(driver)`; elements that the page redraws meanwhile are looked up again."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout_s, poll_frequency=0.25,
                         ignored_exceptions=[StaleElementReferenceException]).until(condition)


def press(driver: Any, label: str, timeout_s: float = 30) -> None:
    """Clicks the first enabled button whose text starts with `label` (waits for it)."""
    from selenium.webdriver.common.by import By

    def clicked(drv: Any) -> bool:
        found = [b for b in drv.find_elements(By.TAG_NAME, "button")
                 if b.text.strip().startswith(label) and b.is_enabled() and b.is_displayed()]
        if found:
            found[0].click()
        return bool(found)

    until(driver, clicked, timeout_s)


def header(driver: Any, agent: str) -> str:
    """The tape's status line ("paused · agent qa · …"), as the page shows it now."""
    from selenium.webdriver.common.by import By

    lines = [e.text for e in driver.find_elements(By.CSS_SELECTOR, "[data-testid=stText]")
             if f" · agent {agent} · " in e.text]
    return lines[0] if lines else ""


def wait_header(driver: Any, agent: str, status: str, steps: int | None = None, timeout_s: float = 30) -> str:
    """Waits for the status line to say `status` (and `steps` steps, when given)."""
    def shown(drv: Any) -> str | bool:
        line = header(drv, agent)
        return line.startswith(f"{status} · ") and (steps is None or f" · {steps} steps · " in line) and line

    return until(driver, shown, timeout_s)


def button_enabled(driver: Any, label: str) -> bool:
    from selenium.webdriver.common.by import By

    def read(drv: Any) -> tuple[bool]:
        return (any(b.is_enabled() for b in drv.find_elements(By.TAG_NAME, "button") if b.text.strip().startswith(label)),)

    return until(driver, read)[0]


def test_next_error_on_a_10000_step_tape_shows_the_step_and_its_inspector(studio: tuple[str, Any, Path]) -> None:
    url, driver, _ = studio
    tape = long_tape()
    driver.get(f"{url}/?tape={tape.id}")
    wait_for_text(driver, "thinking 1")
    press(driver, "Next error")
    wait_for_text(driver, "the first error")
    in_view = f"""
        const row = document.querySelector('.st-key-select_{ERROR_AT}'), pane = document.querySelector('.st-key-step_list'),
              inspector = document.querySelector('.st-key-inspector');
        if (!row || !pane || !inspector) return null;
        const r = row.getBoundingClientRect(), p = pane.getBoundingClientRect(), i = inspector.getBoundingClientRect();
        const h = window.innerHeight, w = window.innerWidth;
        const inside = (b, top, bottom) => b.top >= top && b.bottom <= bottom && b.left >= 0 && b.right <= w;
        return {{row: inside(r, Math.max(0, p.top), Math.min(h, p.bottom)), inspector: inside(i, 0, h),
                 text: inspector.innerText}};"""
    # The page scrolls the pane into view, then the row within it, just after drawing.
    boxes = until(driver, lambda drv: (b := drv.execute_script(in_view)) and b["row"] and b["inspector"] and b, 15)
    assert f"Step {ERROR_AT}" in boxes["text"] and "the first error" in boxes["text"]
    assert f"step={ERROR_AT}" in driver.current_url


def test_clicking_a_node_of_the_graph_jumps_to_its_next_visit(studio: tuple[str, Any, Path]) -> None:
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By

    url, driver, _ = studio
    tape = VISITS
    driver.get(f"{url}/?tape={tape.id}")

    def open_graph(drv: Any) -> bool:  # the page may redraw the fold while it is clicked: then again
        folds = drv.find_elements(By.XPATH, "//summary[contains(., 'Graph of the agent')]")
        if folds:
            folds[0].click()
        return bool(folds)

    until(driver, open_graph)
    # plan's label in the graph, drawn once the graph is unfolded (by the rerun the fold asks for)
    until(driver, lambda drv: "2 visits" in drv.find_element(By.TAG_NAME, "body").text)

    def click_node(name: str) -> None:
        # The points are SVG paths in the order of the graph's nodes; a click where one is drawn
        # lands on plotly's drag layer above it, as a person's click does, and plotly finds the point.
        points = until(driver, lambda drv: drv.find_elements(By.CSS_SELECTOR, ".scatterlayer .point"))
        ActionChains(driver).move_to_element(points[["plan", "answer"].index(name)]).click().perform()

    click_node("plan")
    until(driver, lambda drv: "step=1" in drv.current_url)
    click_node("plan")  # again: its next turn
    until(driver, lambda drv: "step=3" in drv.current_url)
    click_node("answer")
    until(driver, lambda drv: "step=2" in drv.current_url)
    # innerText holds only what is displayed; the body outlives the reruns that redraw the inspector
    until(driver, lambda drv: "the answer node" in drv.find_element(By.TAG_NAME, "body").text)


def test_stop_and_step_once_leave_the_tape_paused_or_completed(studio: tuple[str, Any, Path]) -> None:
    url, driver, store = studio
    stopped, stepped = STOPPED, STEPPED
    driver.get(f"{url}/?tape={stopped.id}")
    press(driver, "▶ Continue")
    press(driver, "Start")
    press(driver, "⏹ Stop")  # during the first model call (2 s): the run stops after that move
    wait_for_text(driver, "Run stopped at your request")
    assert wait_header(driver, "slow_qa", "paused")
    assert button_enabled(driver, "▶ Continue") and button_enabled(driver, "⏯ Step once")
    assert listed_status(store, stopped.id) == "paused"

    driver.get(f"{url}/?tape={stepped.id}")
    for expected, steps in (("paused", 3), ("paused", 4), ("completed", 5)):  # plan, the calculator, the answer
        press(driver, "⏯ Step once")
        assert wait_header(driver, "slow_qa", expected, steps)
        assert listed_status(store, stepped.id) == expected
    wait_for_text(driver, "Run finished with an answer")
    assert not button_enabled(driver, "▶ Continue") and not button_enabled(driver, "⏯ Step once")


def test_the_header_and_step_list_follow_a_run_while_it_lasts(studio: tuple[str, Any, Path]) -> None:
    url, driver, _ = studio
    driver.get(f"{url}/?tape={FOLLOWED.id}")
    press(driver, "▶ Continue")
    press(driver, "Start")
    # Plan's call takes 2 s, the calculator none, the answer's call 2 s: between the two calls the
    # page, not only the live panel, shows the stored steps while the run still says running.
    assert wait_header(driver, "slow_qa", "running", 4, timeout_s=20)
    assert wait_for_text(driver, "calculator → 391").is_displayed()  # the step list's line for the tool result
    assert wait_header(driver, "slow_qa", "completed", 5)


def test_an_approval_pause_survives_a_restart_of_the_studio(environment: None, tmp_path: Path) -> None:
    tape = new_tape(CAREFUL_QA)
    store = seeded(tmp_path, tape)
    with chromium(tmp_path / "profile") as driver:
        with serve(store) as url:
            driver.get(f"{url}/?tape={tape.id}")
            press(driver, "▶ Continue")
            press(driver, "Start")
            wait_for_text(driver, "Awaiting approval")
            assert wait_header(driver, "careful_qa", "awaiting approval")
        # The first studio is gone (its process group ended): the pause is on the tape, not in memory.
        assert listed_status(store, tape.id) == "awaiting_approval"
        with serve(store) as url:
            driver.get(f"{url}/?tape={tape.id}")
            wait_for_text(driver, "before tool 'calculator'")
            press(driver, "✅ Approve and continue")
            wait_for_text(driver, "Run finished with an answer")
            assert wait_header(driver, "careful_qa", "completed")
    done = Store(store).load_tape(tape.id)
    assert [s.kind for s in done.steps][-3:] == ["tool_call", "tool_result", "final_answer"]
    assert done.steps[-1].text == "391"  # type: ignore[attr-defined]
