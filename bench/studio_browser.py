"""Studio benchmark in a real browser: what a person waits for, from a click to the new content on screen.

A benchmark, not a test: it prints a table (or JSON with --json). Run with
`python bench/studio_browser.py [--repeats N] [--json]`. Needs what the browser tests need: Debian's
chromium and chromium-driver (scripts/install_browser.sh) and selenium (the `test` extra).

The studio is served (`tape-studio --store …`, demo tapes loaded by the launcher) on a store that also
holds a 10,000-step tape (errors and visits of node `check` sprinkled through it) and a finished
training run of the qa agent (made here with the learning fake, so no model is needed). Headless
Chromium drives it through selenium, but every figure is timed inside the page: a script clicks, then
polls every 10 ms until the new content is on screen, and reports performance.now() differences.
Page loads (first paint, links) are timed from the navigation's start to the content.

figures (median and max over --repeats, ms; targets of issue 15, on 2 quiet cores):
  Browse first paint         / until the tape table's caption is drawn                < 1,000
  open a tape                Browse's "Open it in the debugger" until its first step  < 1,000
  open its family tree       the folded "Family tree of forks" until its table is drawn < 1,000
  open a 10,000-step tape    /tape?tape=ID until step 0 is shown                       < 1,000
  next / previous step       "Next ▶" / "◀ Prev" until the inspector names the step    <   300
  next error                 "Next error" until the inspector shows that step          <   300
  next visit                 "Next visit ▶" (node `check`) until that step is shown     <   300
  Compare a fork pair        /compare?a=ROOT&b=FORK until the first divergence         < 1,000
  Train page, from sidebar   the sidebar's "Train" (from Compare) until the score chart < 1,000
  Train page, reloaded       /train (a reload: the app's scripts load again) until it   < 1,000
  Train tab switch           a click on "Prompts", then on "Scores", until it shows    < 1,000
  Data page export           Export tab, "Prepare export" until the download button    < 1,000
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tape_studio.core.store import Store, TapeFilter
from tape_studio.core.tape import ErrorStep, StepMetadata, Tape, TapeMetadata, Task, Thought, ToolCall, ToolResult

LONG = 10_000
ERRORS = [n for n in range(777, LONG, 1_000)]
"""Where the long tape's error steps are: "Next error" walks these."""
VISITS = [n for n in range(1_234, LONG, 1_500)]
"""Where node `check` made a step: "Next visit" walks these."""

MEASURE = """
const [clickXpath, condition, timeoutMs, done] = arguments;
const visible = (e) => e && e.getClientRects().length > 0;
const find = (xp) => {
  const r = document.evaluate(xp, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
  for (let i = 0; i < r.snapshotLength; i++) { if (visible(r.snapshotItem(i))) return r.snapshotItem(i); }
  return null;
};
let t0 = performance.now();
function poll() {
  let shown = null;
  try { shown = find(condition); } catch (e) {}
  if (shown) { done({ms: performance.now() - t0, since_navigation: performance.now()}); return; }
  if (performance.now() - t0 > timeoutMs) { done({error: 'not shown within ' + timeoutMs + ' ms: ' + condition}); return; }
  setTimeout(poll, 10);
}
// The thing to click may still be on its way (the page's last rerun drawing it): wait for it first.
(function clickable() {
  if (!clickXpath) { poll(); return; }
  const target = find(clickXpath);
  if (target && !target.disabled) { t0 = performance.now(); target.click(); poll(); return; }
  if (performance.now() - t0 > timeoutMs) { done({error: 'nothing to click at ' + clickXpath}); return; }
  setTimeout(clickable, 10);
})();
"""
SCORES_CHART = ("//*[contains(@class, 'st-key-train_scores')]//*[local-name()='svg' and contains(@class, 'marks')]"
                "//*[contains(@class, 'role-axis-label')]")
"""The score chart once Vega has drawn its axes' labels (it is drawn as SVG)."""
BUSY = "return !!document.querySelector('[data-testid=\"stStatusWidget\"]')"


def long_tape() -> Tape:
    steps: list[Any] = [Task(text="bench: a long session")]
    while len(steps) < LONG:
        n = len(steps)
        if n in ERRORS:
            steps.append(ErrorStep(source="tool", message=f"timeout at step {n}"))
        elif n in VISITS:
            steps.append(Thought(text=f"checking at step {n}", metadata=StepMetadata(node="check", agent="bench")))
        else:
            meta = {"node": "act", "agent": "bench"}
            steps.append((Thought(text=f"thinking {n}", metadata=StepMetadata(**meta)),
                          ToolCall(tool="echo", arguments={"input": n}, metadata=StepMetadata(**meta)),
                          ToolResult(tool="echo", content=f"ok {n}"))[n % 3])
    return Tape(metadata=TapeMetadata(agent="bench", title="bench: 10,000 steps", status="completed"),
                steps=tuple(steps))


def training_run(folder: Path, store: Path) -> None:
    """One finished run of qa on the qa dataset, its roles answered by the learning fake."""
    from tape_studio.core.learning.fake_roles import register_learning_fake
    from tape_studio.core.learning.train_config import TrainConfig
    from tape_studio.core.learning.trainer import Trainer
    from tape_studio.core.workspace import Workspace

    model = register_learning_fake("bench-browser", {"answer": lambda m: '{"answer": "unknown"}'}, 0.0)
    ws = Workspace(store, model=model, mode="cached")
    trainer = Trainer(ws)
    trainer.run(trainer.start(TrainConfig(agent="qa", dataset="qa", epochs=1, batch_size=2, workers=2,
                                          evaluate_test=False)).id)
    ws.store.close()


def diverges(store: Store, a: str, b: str) -> bool:
    """Whether two tapes differ in some step (a demo fork made by an edit, not a plain rerun)."""
    return [s.body() for s in store.load_steps(a)] != [s.body() for s in store.load_steps(b)]


def button(label: str) -> str:
    return f"//button[.//p[normalize-space(.)='{label}']]"


def nav(page: str) -> str:
    """The sidebar's link to a page: what a person clicks (the app stays loaded, unlike a reload)."""
    return f"//a[@data-testid='stSidebarNavLink'][substring(@href, string-length(@href) - {len(page)}) = '/{page}']"


def step_shown(index: int) -> str:
    """The inspector's header for the step at the cursor: `**Step N** · family`."""
    return f"//strong[normalize-space(.)='Step {index}']"


class Page:
    """The browser, with the timing script and a wait for the studio to finish its rerun."""

    def __init__(self, driver: Any, url: str) -> None:
        self.driver, self.url = driver, url

    def settle(self, timeout_s: float = 60.0) -> None:
        time.sleep(0.3)
        deadline = time.monotonic() + timeout_s
        while self.driver.execute_script(BUSY) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)

    def click(self, xpath: str, shown: str, timeout_s: float = 60.0) -> float:
        result = self.driver.execute_async_script(MEASURE, xpath, shown, timeout_s * 1000)
        if "error" in result:
            shown = self.driver.execute_script("return document.body.innerText")[-600:]
            raise RuntimeError(f"{result['error']}; the page shows: {shown!r}")
        self.settle()
        return float(result["ms"])

    def load(self, path: str, shown: str, timeout_s: float = 60.0) -> float:
        self.driver.get(self.url + path)
        result = self.driver.execute_async_script(MEASURE, "", shown, timeout_s * 1000)
        if "error" in result:
            shown = self.driver.execute_script("return document.body.innerText")[-600:]
            raise RuntimeError(f"{path}: {result['error']}; the page shows: {shown!r}")
        self.settle()
        return float(result["since_navigation"])


def measure(page: Page, ids: dict[str, str], repeats: int) -> dict[str, list[float]]:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    times: dict[str, list[float]] = {}

    def record(name: str, fn: Callable[[], float]) -> None:
        times.setdefault(name, []).append(fn())

    for _ in range(repeats):
        record("Browse first paint", lambda: page.load("/", "//*[contains(text(), 'tapes · page 1')]"))
        record("open a tape", lambda: page.click(button("Open it in the debugger"), step_shown(0)))
        record("open its family tree", lambda: page.click("//summary[contains(., 'Family tree of forks')]",
                                                          "//*[contains(@class, 'st-key-tape_family')]//canvas"))
        record("open a 10,000-step tape", lambda: page.load(f"/tape?tape={ids['long']}", step_shown(0)))
        for _ in range(3):
            record("next step", lambda: page.click(button("Next ▶"), step_shown(1)))
            record("previous step", lambda: page.click(button("◀ Prev"), step_shown(0)))
        for target in ERRORS[:3]:
            record("next error", lambda target=target: page.click(button("Next error"), step_shown(target)))
        choose = page.driver.find_element(By.CSS_SELECTOR, ".st-key-tape_jump_node input")
        choose.click()
        choose.send_keys("check", Keys.ENTER)
        page.settle()
        after = [n for n in VISITS if n > ERRORS[2]] + VISITS
        for target in after[:3]:
            record("next visit", lambda target=target: page.click(button("Next visit ▶"), step_shown(target)))
        record("Compare a fork pair", lambda: page.load(f"/compare?a={ids['root']}&b={ids['fork']}",
                                                         "//*[contains(text(), 'First divergence')]"))
        record("Train page, from the sidebar", lambda: page.click(nav("train"), SCORES_CHART))
        record("Train page, reloaded", lambda: page.load("/train", SCORES_CHART))
        tab = "//*[@role='tab'][normalize-space(.)='{}']"
        record("Train tab switch", lambda: page.click(tab.format("Prompts"),
                                                      "//*[contains(text(), 'Prompt length per node')]"))
        record("Train tab switch", lambda: page.click(tab.format("Scores"), SCORES_CHART))
        page.load("/data", tab.format("Export"))
        page.click(tab.format("Export"), button("Prepare export"))
        record("Data page export", lambda: page.click(button("Prepare export"),
                                                      "//button[.//p[starts-with(normalize-space(.), 'Download ')]]"))
    return times


TARGETS = {"next step": 300, "previous step": 300, "next error": 300, "next visit": 300}


def report(times: dict[str, list[float]], load: str) -> str:
    lines = [f"Studio in headless Chromium · {os.cpu_count()} CPUs · load {load} at start · click → content on screen, ms",
             f"  {'interaction':<26}{'median':>9}{'max':>9}{'runs':>6}{'target':>9}"]
    for name, values in times.items():
        target = TARGETS.get(name, 1000)
        flag = "" if statistics.median(values) < target else "  over"
        lines.append(f"  {name:<26}{statistics.median(values):>9,.0f}{max(values):>9,.0f}{len(values):>6}"
                     f"{'< ' + format(target, ','):>9}{flag}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0], epilog="figures" + __doc__.split("\nfigures", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="walks through every interaction")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    from tape_studio.studio.headless import chromium, missing_browser, serve

    reason = missing_browser()
    if reason:
        raise SystemExit(reason)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="tape-bench-browser-") as folder:
        tmp = Path(folder)
        os.environ["TAPE_STUDIO_HOME"] = str(tmp)
        path = tmp / "store.sqlite"
        tape = long_tape()
        Store(path).save_tape(tape)
        training_run(tmp, path)
        with serve(path) as url, chromium(tmp / "profile") as driver:
            store = Store(path)
            fork = next(t for t in store.list_tapes(TapeFilter(limit=1000)) if t.parent_id and diverges(store, t.id, t.parent_id))
            ids = {"long": tape.id, "root": fork.parent_id or "", "fork": fork.id}
            store.close()
            driver.set_script_timeout(120)
            times = measure(Page(driver, url), ids, args.repeats)
    print(json.dumps(times, indent=2) if args.json else report(times, load))


if __name__ == "__main__":
    sys.exit(main())
