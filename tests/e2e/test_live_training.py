"""Training with the real embedded model through the installed command: structure, never wording."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import streamlit
from streamlit.testing.v1 import AppTest

from tape_studio.core.learning import records as rec
from tape_studio.core.store import Store

pytestmark = pytest.mark.live_model
ROOT = Path(__file__).resolve().parents[2]


def test_one_epoch_of_qa_leaves_every_record_viewable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env = {**os.environ, "TAPE_STUDIO_HOME": str(tmp_path), "TAPE_STUDIO_LLM_MODE": "live"}
    done = subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", "train", "--agent", "qa", "--dataset", "qa-mini",
                           "--epochs", "1", "--batch", "2", "--json"], env=env, capture_output=True, text=True,
                          timeout=400, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert {"run_id", "epochs", "best_spec_id", "accepted_changes", "v0_vs_best"} <= set(result)
    assert result["status"] == "completed"
    assert [set(e) for e in result["epochs"]] == [{"epoch", "train", "val", "accepted", "rejected", "spec_id"}]
    assert 0.0 <= result["epochs"][0]["val"] <= 1.0 and result["test"] is not None

    store = Store(tmp_path / "store.sqlite")
    steps = rec.load_rows(store, result["run_id"], "step")
    kinds = {step.kind for row in steps for step in store.load_tape(row.tape_id).steps}
    assert {"loss", "decision"} <= kinds
    assert {"gradient", "proposal"} <= kinds  # the small model fails some training questions
    for row in steps:
        for step in store.load_tape(row.tape_id).steps:
            if step.metadata.prompt_id:
                assert store.load_llm_call(step.metadata.prompt_id).model == "local/smollm2"

    monkeypatch.setenv("TAPE_STUDIO_STORE", str(tmp_path / "store.sqlite"))
    streamlit.cache_resource.clear()
    page = AppTest.from_file(str(ROOT / "pages" / "train.py"), default_timeout=60).run()
    assert not page.exception
    # Structure, not wording (the page's words are the Train page's to choose): it shows this run.
    shown = " ".join(str(getattr(e, "value", "")) for kind in ("markdown", "text", "caption", "subheader", "title")
                     for e in page.get(kind))
    shown += " ".join(str(option) for box in page.selectbox for option in box.options)
    assert result["run_id"][:8] in shown or result["best_spec_id"] in shown
    streamlit.cache_resource.clear()
