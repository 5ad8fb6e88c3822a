"""Train page benchmark: server-side time of one AppTest run of pages/train.py on a finished run made
by the learning fake (a named fake model; no real model is called).

A benchmark, not a test: it prints figures. Run with `python bench/train_page.py [--dataset qa]`.

figures:
  first ms     the first run in the process (imports, cold SQLite pages, every cache empty)
  rerun ms     median and max of 5 further runs: what a click on the page costs (cached figure,
               comparisons and record grids)
  uncached ms  median of 5 runs with st.cache_data cleared before each: what every rerun cost
               without the caches
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="qa", help="qa (40/40/80 questions) or qa-mini (6/6/8)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-train-page-"))
    os.environ["TAPE_STUDIO_STORE"] = str(folder / "store.sqlite")
    os.environ["TAPE_STUDIO_HOME"] = str(folder)

    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tape_studio.core.learning.fake_roles import register_learning_fake
    from tape_studio.core.learning.train_config import TrainConfig
    from tape_studio.core.learning.trainer import Trainer
    from tape_studio.core.workspace import Workspace

    ws = Workspace(folder / "store.sqlite", model=register_learning_fake("bench-train-page", {}), mode="cached")
    trainer = Trainer(ws)
    started = time.perf_counter()
    run = trainer.run(trainer.start(TrainConfig(agent="qa", dataset=args.dataset, epochs=args.epochs,
                                                batch_size=args.batch)).id)
    print(f"run {run.id[:8]}: {args.dataset}, {args.epochs} epochs, batch {args.batch}, "
          f"{(run.summary or {}).get('steps')} steps, trained in {time.perf_counter() - started:.1f} s")

    page = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=120)

    def timed() -> float:
        start = time.perf_counter()
        page.run()
        assert not page.exception, page.exception
        return (time.perf_counter() - start) * 1000

    first = timed()
    reruns = [timed() for _ in range(5)]
    uncached = []
    for _ in range(5):
        st.cache_data.clear()
        uncached.append(timed())
    print(f"first ms     {first:8.0f}")
    print(f"rerun ms     {statistics.median(reruns):8.0f}  (max {max(reruns):.0f})")
    print(f"uncached ms  {statistics.median(uncached):8.0f}  (max {max(uncached):.0f})")


if __name__ == "__main__":
    main()
