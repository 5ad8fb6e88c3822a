"""The Train page in a real browser: a finished run (made with the learning fake, a named fake model)
shows its score plot with whole-epoch ticks, v0 against the best version on validation and test,
and the accepted change as a coloured diff. The page only reads the store: no model is called."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

from tape_studio.core.learning.fake_roles import register_learning_fake
from tape_studio.core.learning.train_config import TrainConfig
from tape_studio.core.learning.trainer import Trainer
from tape_studio.core.workspace import Workspace
from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text
from tape_studio.studio.train_story import TEST_LABEL

pytestmark = pytest.mark.browser
_names = itertools.count()


SCORES = ".st-key-train_scores svg.marks"


def _ticks(driver: Any, axis: str) -> list[str]:
    """The tick labels Vega drew (as SVG) on the score chart's axis whose aria-label starts with `axis`."""
    return driver.execute_script(
        f"const plot = document.querySelector('{SCORES}');"
        "if (!plot) return [];"
        "const axis = Array.from(plot.querySelectorAll('g.role-axis'))"
        "  .find(g => (g.getAttribute('aria-label') || '').startsWith(arguments[0]));"
        "return axis ? Array.from(axis.querySelectorAll('g.role-axis-label text')).map(t => t.textContent) : [];",
        axis)


def _round_steps(ticks: list[int]) -> bool:
    """Evenly spaced by 1, 2 or 5 times a power of ten, each a multiple of that step."""
    step = ticks[1] - ticks[0]
    digits = str(step).rstrip("0")
    return (digits in ("1", "2", "5") and all(b - a == step for a, b in itertools.pairwise(ticks))
            and all(tick % step == 0 for tick in ticks))


def test_the_train_page_shows_the_score_plot_the_comparison_and_a_coloured_diff(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    monkeypatch.setenv("TAPE_STUDIO_HOME", str(tmp_path))
    ws = Workspace(tmp_path / "store.sqlite", model=register_learning_fake(f"browser-{next(_names)}", {}),
                   mode="cached")
    trainer = Trainer(ws)
    run = trainer.run(trainer.start(TrainConfig(agent="qa", dataset="qa-mini", epochs=2, batch_size=4)).id)
    ws.store.close()
    with serve(tmp_path / "store.sqlite") as url, chromium(tmp_path / "profile") as driver:
        driver.get(f"{url}/train?run={run.id}")
        wait_for_text(driver, TEST_LABEL, timeout_s=60)
        assert wait_for_text(driver, "90% interval").is_displayed()
        WebDriverWait(driver, 30).until(lambda d: _ticks(d, "X-axis"))
        assert _ticks(driver, "X-axis") == ["0", "1", "2"]  # whole epochs, no half-epoch ticks
        calls = [int(tick.replace(",", "")) for tick in _ticks(driver, "Y-axis titled 'LLM calls")]
        assert len(calls) >= 2 and _round_steps(calls)  # e.g. 0 / 20 / 40 / 60 / 80, never 43 / 64 / 85
        driver.execute_script(f"document.querySelector('{SCORES}').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / "scores.png"))
        driver.find_element(By.XPATH, "//*[@role='tab'][.//*[text()='Accepted changes'] or text()='Accepted changes']").click()
        wait_for_text(driver, "made by the prompt + tool docs optimizers")
        added = WebDriverWait(driver, 30).until(lambda d: [
            e for e in d.find_elements(By.CSS_SELECTOR, "code .token.inserted") if e.is_displayed()])
        removed = [e for e in driver.find_elements(By.CSS_SELECTOR, "code .token.deleted") if e.is_displayed()]
        assert "Always calculate arithmetic with the calculator." in " ".join(e.text for e in added)
        assert removed and added[0].value_of_css_property("color") != removed[0].value_of_css_property("color")
        driver.save_screenshot(str(tmp_path / "changes.png"))
        driver.find_element(By.XPATH, "//*[@role='tab'][.//*[text()='Compare versions'] or text()='Compare versions']").click()
        assert wait_for_text(driver, "validation: v0 ").is_displayed()
        driver.save_screenshot(str(tmp_path / "compare.png"))
