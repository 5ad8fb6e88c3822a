"""One real headless Chromium launch of an experiment: cost preview, Launch, live progress, report plot."""

from __future__ import annotations

from pathlib import Path

import pytest

from tape_studio.core.demo import load_demo_tapes
from tape_studio.core.experiments import Experiment, Selection, create_experiment, parse_rule
from tape_studio.core.workspace import Workspace
from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

pytestmark = pytest.mark.browser


def test_launching_an_experiment_shows_its_report_and_plot(tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    ws = Workspace(tmp_path / "store.sqlite")
    load_demo_tapes(ws.store, ws.cache)
    ids = [r[0] for r in ws.store.query("SELECT id FROM tapes WHERE agent = 'qa' AND status = 'completed' "
                                        "AND json_extract(context, '$.example_id') IS NOT NULL ORDER BY id LIMIT 2")]
    # The answer node is asked again with its recorded prompt: the original's calls answer it, two small reruns.
    experiment = Experiment(selection=Selection(ids=tuple(ids)), dataset="qa", title="Ask the answer node again",
                            rule=parse_rule({"match": {"kind": "final_answer"}, "action": "delete"}))
    experiment_id = create_experiment(ws, experiment)[0].id
    ws.store.close()
    with serve(tmp_path / "store.sqlite") as url, chromium(tmp_path / "profile") as driver:
        driver.get(f"{url}/experiments?experiment={experiment_id}")
        wait_for_text(driver, "Cost preview", timeout_s=60)
        assert wait_for_text(driver, "2 (100%)").is_displayed()  # both calls from the cache
        # By its key, not its label: Streamlit puts the key on the button's container as a class.
        launch = WebDriverWait(driver, 60).until(ec.element_to_be_clickable((By.CSS_SELECTOR, ".st-key-exp_launch button")))
        assert launch.text.strip() == "Launch"
        launch.click()
        wait_for_text(driver, "Report · completed", timeout_s=120)
        body = driver.find_element(By.TAG_NAME, "body")
        assert "Scored / skipped\n2 / 0" in body.text, body.text[-1500:]
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".st-key-exp_chart .marks"))
        assert wait_for_text(driver, "Fixed / broken / same").is_displayed()
        driver.execute_script("document.querySelector('.st-key-exp_chart').scrollIntoView()")
        driver.save_screenshot(str(tmp_path / "experiment.png"))
    assert (tmp_path / "experiment.png").stat().st_size > 10_000
