"""End to end in a real browser: the studio served on a temporary store, opened in Debian's headless
Chromium. A deep link opens a tape whose hostile step is shown as text and runs nothing; a session
started on the Run page streams into the page."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought
from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

pytestmark = pytest.mark.browser

HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)>"
TAPE = Tape(metadata=TapeMetadata(agent="qa", title=HOSTILE, status="completed"), steps=(
    Task(text="What does this page run?"),
    Thought(text=HOSTILE, metadata=StepMetadata(node="plan", agent="qa")),
    Thought(text="a harmless step after it", metadata=StepMetadata(node="plan", agent="qa")),
))


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """The studio on a store holding the hostile tape (and the demo tapes the launcher adds)."""
    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    folder = tmp_path_factory.mktemp("studio")
    store = Store(folder / "store.sqlite")
    store.save_tape(TAPE)
    store.close()
    with serve(folder / "store.sqlite") as url, chromium(folder / "profile") as driver:
        yield url, driver


def test_a_deep_link_shows_hostile_step_text_and_runs_nothing(studio: tuple[str, Any], tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    url, driver = studio
    driver.get(f"{url}/?tape={TAPE.id}")
    wait_for_text(driver, "a harmless step after it")
    shown = wait_for_text(driver, HOSTILE)
    assert shown.is_displayed() and HOSTILE in shown.text
    assert "/tape" in driver.current_url and TAPE.id in driver.current_url
    driver.save_screenshot(str(tmp_path / "tape.png"))
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert  # noqa: B018  (reading it is the check)
    assert driver.find_elements(By.CSS_SELECTOR, "img[src='x'], img[onerror]") == []
    injected = driver.execute_script(
        "return Array.from(document.scripts).filter(s => s.text.includes('alert(')).length")
    assert injected == 0
    assert (tmp_path / "tape.png").stat().st_size > 10_000


def test_a_run_streams_into_the_page(studio: tuple[str, Any]) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    url, driver = studio
    driver.get(f"{url}/run")
    wait_for_text(driver, "Choose an agent")
    task = driver.find_element(By.TAG_NAME, "textarea")
    task.send_keys("What is the capital of France?")
    task.send_keys(Keys.CONTROL, Keys.ENTER)  # submits the text area, which enables Start

    def start_enabled(drv: Any) -> Any:
        buttons = [b for b in drv.find_elements(By.TAG_NAME, "button") if b.text.strip() == "▶ Start"]
        return buttons[0] if buttons and buttons[0].is_enabled() else False

    WebDriverWait(driver, 30).until(start_enabled).click()
    # Cached mode answers from the demo tapes' recorded calls: no model is needed.
    wait_for_text(driver, "Run finished with an answer")
    assert wait_for_text(driver, "Paris").is_displayed()
