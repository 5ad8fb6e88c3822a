"""Security: keys from the environment never reach disk or output, the studio listens on 127.0.0.1
only and says so, tools compute and never execute, and hostile text in an LLM call's prompt, output
and error shows as inert text in a real browser."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fault_server import FaultServer, fault_server
from hypothesis import given, settings
from hypothesis import strategies as st
from reliability_helpers import ROOT

from tape_studio.core.agents.tools import ToolError, calculate
from tape_studio.core.interop.exporting import TapeSelection
from tape_studio.core.llm import LLMCall
from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Thought
from tape_studio.core.workspace import Workspace

KEYS = {
    "OPENAI_API_KEY": "sk-test-0penAIsecretKEY-4f9a1c",
    "ANTHROPIC_API_KEY": "sk-ant-test-anthropicSECRET-77b2",
    "MY_GATEWAY_API_KEY": "gw-test-customSECRET-90e1",
}


@pytest.fixture
def keyed_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultServer]:
    with fault_server() as state:
        monkeypatch.setenv("OPENAI_API_BASE", state.url)
        for name, value in KEYS.items():
            monkeypatch.setenv(name, value)
        yield state


def leaks(folder: Path, *outputs: str) -> list[str]:
    """Where any key's bytes appear: every file under `folder` (store, WAL, cache, exports) and each output."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found += [f"{path.name}: {name}" for name, key in KEYS.items() if key.encode() in data]
    found += [f"output: {name}" for name, key in KEYS.items() for text in outputs if key in text]
    return found


def cli(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "TAPE_STUDIO_HOME": str(home), "TAPE_STUDIO_MODEL": "openai/test-model",
           "TAPE_STUDIO_LLM_MODE": "live", "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", *args], env=env, capture_output=True,
                          text=True, check=False, timeout=120)


def page_text(at: Any) -> str:
    """Everything an AppTest page drew, as the text of its elements' messages."""
    found: list[str] = []

    def walk(node: Any) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None:
            found.append(str(proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(found)


def test_keys_in_the_environment_never_reach_the_store_cache_exports_or_output(
    keyed_server: FaultServer, tmp_path: Path, capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("DEBUG")
    good = cli("run", "--agent", "qa", "--task", "What is the capital of France?", "--json", home=tmp_path)
    assert good.returncode == 0, good.stderr
    assert keyed_server.headers[0]["Authorization"] == f"Bearer {KEYS['OPENAI_API_KEY']}"  # the key was used
    # A provider (or proxy) that quotes the request's credentials in its error bodies, for every kind of error.
    keyed_server.echo_auth = True
    outputs = [good.stdout, good.stderr]
    for fault in ("400", "401"):
        keyed_server.fault = fault
        failed = cli("run", "--agent", "qa", "--task", f"Fault {fault}?", home=tmp_path)
        assert failed.returncode == 1 and "Invalid key provided: Bearer" in failed.stdout, failed.stdout
        outputs += [failed.stdout, failed.stderr]
    ws = Workspace(tmp_path / "store.sqlite", model="openai/test-model", mode="live")
    ws.llm.backoff_s = 0.01  # the fault is retried as usual, just without waiting seconds
    keyed_server.fault = "500"
    for _ in ws.run("qa", "Who wrote Hamlet?"):
        pass
    tape_ids = [summary.id for summary in ws.store.list_tapes()]
    failed_ids = [summary.id for summary in ws.store.list_tapes() if summary.status == "failed"]
    ws.export(tape_ids, tmp_path / "exports" / "bundle.json")
    for fmt in ("sft", "otel"):
        ws.export_data(TapeSelection(ids=tape_ids), fmt, tmp_path / "exports" / f"data.{fmt}")  # type: ignore[arg-type]
    outputs += [cli("show", failed_ids[0], home=tmp_path).stdout, cli("list", "--json", home=tmp_path).stdout]
    outputs.append(studio_tape_page(tmp_path / "store.sqlite", failed_ids[0]))
    captured = capfd.readouterr()
    assert len(tape_ids) == 4 and len(failed_ids) == 3 and (tmp_path / "llm_cache").is_dir()
    assert "Invalid key provided: Bearer" in ws.store.load_tape(failed_ids[0]).metadata.error
    assert leaks(tmp_path, *outputs, captured.out, captured.err, caplog.text) == []


def studio_tape_page(store: Path, tape_id: str) -> str:
    """The Tape page of a failed tape with its cursor on the error step (whose provenance shows the call)."""
    import streamlit
    from streamlit.testing.v1 import AppTest

    from tape_studio.studio.state import CURSOR, TAPE_ID

    os.environ["TAPE_STUDIO_STORE"] = str(store)
    streamlit.cache_resource.clear()
    try:
        tape = Store(store).load_tape(tape_id)
        at = AppTest.from_file(str(ROOT / "pages" / "tape.py"), default_timeout=30)
        at.session_state[TAPE_ID], at.session_state[CURSOR] = tape_id, len(tape.steps) - 1
        at.query_params["tape"] = tape_id
        at.run()
        assert not at.exception
        text = page_text(at)
        assert "Invalid key provided" in text  # the error is shown, masked
        return text
    finally:
        del os.environ["TAPE_STUDIO_STORE"]
        streamlit.cache_resource.clear()


def test_the_studio_listens_on_localhost_only_and_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tape_studio.studio import launch

    started: dict[str, Any] = {}

    class Server:
        def __init__(self, command: list[str], env: dict[str, str]) -> None:
            started["command"] = command

        def wait(self, timeout: float | None = None) -> int:
            return 0

    monkeypatch.setattr(subprocess, "Popen", Server)
    launch.launch(str(tmp_path / "store.sqlite"), 8501)
    command = started["command"]
    assert command[command.index("--server.address") + 1] == "127.0.0.1"
    assert "0.0.0.0" not in command
    assert "Tape Studio on http://127.0.0.1:8501" in capsys.readouterr().out


def test_a_studio_on_another_address_requires_its_token_and_says_so(tmp_path: Path) -> None:
    """A real served studio, bound to every address: the launcher prints the token's link and a warning."""
    from tape_studio.studio.headless import serve

    announced: list[str] = []
    with serve(tmp_path / "store.sqlite", args=["--host", "0.0.0.0"], announced=announced) as url:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as health:
            assert health.status == 200  # it really serves, on every address (this one included)
    first, second = announced
    token = first.split("?token=", 1)[1].split()[0]
    assert len(token) >= 32 and "reachable from other machines" in second and "access token" in second


def test_a_short_chosen_token_is_refused_before_anything_starts(tmp_path: Path) -> None:
    env = {**os.environ, "TAPE_STUDIO_TOKEN": "short", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", "--host", "0.0.0.0", "--store",
                           str(tmp_path / "store.sqlite")], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "refusing to serve on 0.0.0.0" in done.stderr and "at least 16 characters" in done.stderr
    assert not (tmp_path / "store.sqlite").exists()


@pytest.mark.browser
def test_a_browser_sees_nothing_of_a_shared_studio_without_its_token(tmp_path: Path) -> None:
    from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    store = Store(tmp_path / "store.sqlite")
    tape = Tape(metadata=TapeMetadata(title="a private tape"), steps=(Thought(text="a private thought"),))
    store.save_tape(tape)
    store.close()
    announced: list[str] = []
    with serve(tmp_path / "store.sqlite", args=["--host", "0.0.0.0"], announced=announced) as url, \
            chromium(tmp_path / "profile") as driver:
        token = announced[0].split("?token=", 1)[1].split()[0]
        driver.get(f"{url}/tape?tape={tape.id}")
        wait_for_text(driver, "asks for its access token")
        assert "a private thought" not in driver.page_source
        driver.get(f"{url}/tape?tape={tape.id}&token={token}")
        wait_for_text(driver, "a private thought")
        assert f"token={token}" not in driver.current_url


CANARY_CODE = [
    "__import__('os').system('touch {canary}')", "open('{canary}', 'w')", "exec('1')", "eval('1')",
    "(lambda: 1)()", "[].__class__.__base__.__subclasses__()", "1; import os", "globals()", "1 if True else 2",
]


@pytest.mark.parametrize("code", CANARY_CODE)
def test_the_calculator_refuses_code(code: str, tmp_path: Path) -> None:
    canary = tmp_path / "canary"
    with pytest.raises(ToolError):
        calculate(code.format(canary=canary))
    assert not canary.exists()


@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(st.text(alphabet="0123456789+-*/^().e, _ax", max_size=30) | st.text(max_size=30))
def test_the_calculator_answers_a_number_or_a_clear_error(expression: str) -> None:
    try:
        result = calculate(expression)
    except ToolError as exc:
        assert str(exc).startswith("calculator")
        return
    float(result.replace(",", ""))


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)><b>bold?</b>"


@pytest.mark.browser
def test_hostile_text_in_an_llm_call_is_inert_in_the_provenance_panel(tmp_path: Path) -> None:
    from selenium.common.exceptions import NoAlertPresentException
    from selenium.webdriver.common.by import By

    from tape_studio.studio.headless import chromium, missing_browser, serve, wait_for_text

    reason = missing_browser()
    if reason:
        pytest.skip(reason)
    call = LLMCall(model="hostile/model", messages=[{"role": "system", "content": f"system {HOSTILE}"},
                                                    {"role": "user", "content": f"user {HOSTILE}"}],
                   output=f"output {HOSTILE}", error=f"error {HOSTILE}")
    tape = Tape(metadata=TapeMetadata(agent="qa", title="provenance", status="completed"), steps=(
        Thought(text="a step made by the hostile call", metadata=StepMetadata(node="plan", agent="qa",
                                                                              prompt_id=call.prompt_id)),))
    store = Store(tmp_path / "store.sqlite")
    store.save_tape(tape, [call])
    store.close()
    with serve(tmp_path / "store.sqlite") as url, chromium(tmp_path / "profile") as driver:
        driver.get(f"{url}/?tape={tape.id}")
        wait_for_text(driver, "Prompt messages")
        for part in ("system", "user", "output", "error"):
            assert HOSTILE in wait_for_text(driver, f"{part} {HOSTILE}").text
        with pytest.raises(NoAlertPresentException):
            driver.switch_to.alert  # noqa: B018  (reading it is the check)
        assert driver.find_elements(By.CSS_SELECTOR, "img[src='x'], img[onerror]") == []
        assert driver.execute_script(
            "return Array.from(document.scripts).filter(s => s.text.includes('alert(')).length") == 0
        assert not [b for b in driver.find_elements(By.TAG_NAME, "b") if b.text == "bold?"]


def test_exported_bundles_carry_no_environment(keyed_server: FaultServer, tmp_path: Path) -> None:
    """The bundle format itself has no place for settings or environment: a cheap second guard."""
    ws = Workspace(tmp_path / "store.sqlite", model="openai/test-model", mode="live")
    for _ in ws.run("qa", "What is the capital of France?"):
        pass
    out = tmp_path / "bundle.json"
    ws.export([summary.id for summary in ws.store.list_tapes()], out)
    assert set(json.loads(out.read_text())) <= {"format", "schema_version", "tapes", "llm_calls", "generic_kinds", "step_kinds",
                                                "exported_at", "version", "specs"}
    assert leaks(tmp_path) == []
