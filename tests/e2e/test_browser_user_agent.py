"""In a real browser: the studio launched with a user's agents file offers that agent on the Run
page, and a session of it (with the real embedded model) streams into the page."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

pytestmark = [pytest.mark.browser, pytest.mark.live_model]

TRAVEL = Path(__file__).resolve().parents[2] / "examples" / "travel" / "agent.py"


def test_the_run_page_streams_a_user_agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("TAPE_STUDIO_AGENTS", str(TRAVEL))  # as `tape-studio --agents FILE` passes it on
    with serve(tmp_path / "store.sqlite", timeout_s=120) as url, chromium(tmp_path / "profile") as driver:
        driver.get(f"{url}/run")
        def agent_choice(drv: Any) -> Any:  # the chosen option is the value of the box's input
            inputs = drv.find_elements(By.CSS_SELECTOR, "[data-testid=stSelectbox] input")
            return inputs[0].get_attribute("value") if inputs and inputs[0].get_attribute("value") else False

        chosen = WebDriverWait(driver, 60).until(agent_choice)
        assert "travel · Answers travel questions" in chosen  # the user's agent comes first
        task = driver.find_element(By.TAG_NAME, "textarea")
        assert task.get_attribute("placeholder") == "What is the weather in Oslo in 2 days?"
        task.send_keys("What is the weather in Oslo in 2 days?")
        task.send_keys(Keys.CONTROL, Keys.ENTER)

        def start_enabled(drv: Any) -> Any:
            buttons = [b for b in drv.find_elements(By.TAG_NAME, "button") if b.text.strip() == "▶ Start"]
            return buttons[0] if buttons and buttons[0].is_enabled() else False

        WebDriverWait(driver, 30).until(start_enabled).click()
        assert wait_for_text(driver, "route_thought", timeout_s=120).is_displayed()  # the rule node's own step
        wait_for_text(driver, "Run finished", timeout_s=240)
        driver.save_screenshot(str(tmp_path / "run.png"))
