"""Takes the README's screenshots: serves the studio on a fresh store with the demo tapes, opens
each main page in headless Chromium, waits until the page shows its content, and saves a PNG.

Usage: .venv/bin/python scripts/screenshots.py [--out docs/screenshots]
Needs Chromium (scripts/install_browser.sh) and selenium (the `test` extra).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tape_studio.core.demo import load_demo_tapes
from tape_studio.core.store import TapeFilter
from tape_studio.core.workspace import Workspace
from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 1.5
"""Time for tables (drawn on a canvas, not in the DOM) and fonts to finish after the text shows."""


def click(driver: Any, label: str) -> None:
    """Clicks the visible button whose text starts with `label`, and waits for the rerun to show."""
    from selenium.webdriver.common.by import By

    button = next(b for b in driver.find_elements(By.TAG_NAME, "button")
                  if b.is_displayed() and b.text.strip().startswith(label))
    button.click()
    time.sleep(0.8)


def shoot(driver: Any, out: Path, name: str) -> None:
    time.sleep(SETTLE_S)
    path = out / f"{name}.png"
    driver.save_screenshot(str(path))
    print(f"  {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}", file=sys.stderr)


def prepare_store(folder: Path) -> tuple[Path, dict[str, str]]:
    """The demo tapes plus a note, and the ids of the fork family the pages show."""
    ws = Workspace(folder / "store.sqlite")
    load_demo_tapes(ws.store, ws.cache)
    family = ws.store.list_tapes(TapeFilter(text="17 times 23"))
    original = next(t for t in family if not t.parent_id)
    edited = next(t for t in family if t.parent_id and "calculator" in ws.store.load_tape(t.id).steps[2].summary())
    ws.store.add_annotation(original.id, 2, "reviewer", "Arithmetic should go to the calculator, not lookup.")
    ws.store.close()
    return ws.store.path, {"original": original.id, "edited": edited.id}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    args = parser.parse_args()
    reason = missing_browser()
    if reason:
        print(f"screenshots: {reason}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="tape-shots-"))
    store, ids = prepare_store(work)
    with serve(store) as url, chromium(work / "profile", height=1150) as driver:
        driver.get(f"{url}/")
        wait_for_text(driver, "tapes · page 1")
        shoot(driver, args.out, "browse")

        driver.get(f"{url}/tape?tape={ids['original']}")
        wait_for_text(driver, "Steps 0–4 of 5")
        click(driver, "Next ▶")
        click(driver, "Next ▶")
        wait_for_text(driver, "Prompt messages")
        shoot(driver, args.out, "tape")

        click(driver, "⟲ Rerun from here")
        wait_for_text(driver, "LLM calls expected")
        shoot(driver, args.out, "rerun-preview")

        driver.get(f"{url}/compare?a={ids['original']}&b={ids['edited']}")
        wait_for_text(driver, "First divergence")
        shoot(driver, args.out, "compare")

        driver.get(f"{url}/run")
        wait_for_text(driver, "Choose an agent")
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        task = driver.find_element(By.TAG_NAME, "textarea")
        task.send_keys("What is the capital of France?")
        task.send_keys(Keys.CONTROL, Keys.ENTER)  # submits the text area, so Start is enabled
        time.sleep(0.8)
        click(driver, "▶ Start")
        wait_for_text(driver, "finished with an answer")
        shoot(driver, args.out, "run")

        driver.get(f"{url}/settings")
        wait_for_text(driver, "LLM cache")
        shoot(driver, args.out, "settings")

        driver.get(f"{url}/train")  # the recorded demo run: v0 against the best, and the score per epoch
        wait_for_text(driver, "chooses the best")
        shoot(driver, args.out, "train")
    return 0


if __name__ == "__main__":
    sys.exit(main())
