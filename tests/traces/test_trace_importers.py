"""Importers of other tools' logs, fed by the real producers where one exists: LangSmith run trees
(the langsmith SDK's RunTree), Inspect AI eval logs (a real `inspect eval` on its mock model), OpenAI
chat-completions logs; and the refusal of anything unrecognised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from trace_helpers import kinds

from tape_studio.core.errors import InputError
from tape_studio.core.interop.formats import read_file
from tape_studio.core.workspace import Workspace

INSPECT_EVAL = """
import sys
from inspect_ai import Task, eval
from inspect_ai.dataset import Sample
from inspect_ai.model import ModelOutput, get_model
from inspect_ai.scorer import includes
from inspect_ai.solver import generate, use_tools
from inspect_ai.tool import tool

@tool
def weather():
    async def execute(city: str) -> str:
        '''Weather of a city.

        Args:
            city: the city
        '''
        return f"sunny in {city}"
    return execute

for log_format in ("json", "eval"):
    model = get_model("mockllm/model", memoize=False, custom_outputs=[
        ModelOutput.for_tool_call(model="mockllm/model", tool_name="weather", tool_arguments={"city": "Paris"}),
        ModelOutput.from_content(model="mockllm/model", content="It is sunny in Paris."),
    ])
    task = Task(dataset=[Sample(input="What is the weather in Paris?", target="sunny")],
                solver=[use_tools(weather()), generate()], scorer=includes())
    eval(task, model=model, log_format=log_format, log_dir=f"{sys.argv[1]}/{log_format}", display="none")
"""


def _langsmith_tree() -> dict[str, Any]:
    """A run tree as the langsmith SDK builds it (exported with its child runs)."""
    from langsmith.run_trees import RunTree

    def lc(kind: str, **fields: Any) -> dict[str, Any]:
        return {"lc": 1, "type": "constructor", "id": ["langchain", "schema", "messages", kind], "kwargs": fields}

    root = RunTree(name="weather-agent", run_type="chain", inputs={"question": "What is the weather in Paris?"})
    llm = root.create_child(name="ChatOpenAI", run_type="llm", extra={"invocation_params": {"model": "gpt-4o-mini",
                                                                                              "temperature": 0}},
                            inputs={"messages": [[lc("SystemMessage", content="Use tools.", type="system"),
                                                  lc("HumanMessage", content="What is the weather in Paris?", type="human")]]})
    llm.end(outputs={"generations": [[{"text": "", "message": lc("AIMessage", content="", type="ai", tool_calls=[
        {"name": "weather", "args": {"city": "Paris"}, "id": "call_1"}])}]],
        "llm_output": {"token_usage": {"prompt_tokens": 20, "completion_tokens": 5}}})
    tool = root.create_child(name="weather", run_type="tool", inputs={"input": json.dumps({"city": "Paris"})})
    tool.end(outputs={"output": "sunny in Paris"})
    parser = root.create_child(name="StrOutputParser", run_type="parser", inputs={"input": "x"})
    parser.end(outputs={"output": "x"})
    final = root.create_child(name="ChatOpenAI", run_type="llm", inputs={"messages": [[
        {"role": "user", "content": "What is the weather in Paris?"},
        {"role": "tool", "content": "sunny in Paris", "tool_call_id": "call_1"}]]})
    final.end(outputs={"generations": [[{"text": "It is sunny in Paris."}]]})
    root.end(outputs={"answer": "It is sunny in Paris."})

    def tree(run: Any) -> dict[str, Any]:
        return {**run.model_dump(mode="json"), "child_runs": [tree(child) for child in run.child_runs]}

    return tree(root)


def test_a_langsmith_run_tree_imports_as_one_tape_and_again_as_nothing(tmp_path: Path) -> None:
    path = tmp_path / "run.json"
    path.write_text(json.dumps(_langsmith_tree()))
    ws = Workspace(tmp_path / "store.sqlite")
    report = ws.import_file(path)
    assert report.format == "langsmith" and len(report.imported) == 1
    tape = ws.store.load_tape(report.imported[0])
    assert kinds(tape) == ["task", "tool_call", "tool_result", "final_answer"]
    assert tape.metadata.agent == "weather-agent" and tape.steps[1].arguments == {"city": "Paris"}  # type: ignore[attr-defined]
    calls = ws.store.calls_for_tape(tape.id)
    assert calls[0].model == "gpt-4o-mini" and calls[0].messages[0] == {"role": "system", "content": "Use tools."}
    assert calls[0].prompt_tokens == 20 and calls[0].params == {"temperature": 0}
    assert report.fidelity is not None and report.fidelity.dropped == [] and any("runs" in k for k in report.fidelity.kept)
    assert ws.import_file(path).skipped_existing == [tape.id]


def test_a_flat_list_of_langsmith_runs_imports_too(tmp_path: Path) -> None:
    tree = _langsmith_tree()
    flat = [{k: v for k, v in tree.items() if k != "child_runs"}, *tree["child_runs"]]
    path = tmp_path / "runs.json"
    path.write_text(json.dumps(flat))
    loaded = read_file(path)
    assert loaded.format == "langsmith" and kinds(loaded.bundle.tapes[0])[:2] == ["task", "tool_call"]


@pytest.fixture(scope="module")
def inspect_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real `inspect eval` run (on Inspect's mock model), logged as JSON and as an .eval archive."""
    import importlib.util

    folder = tmp_path_factory.mktemp("inspect")
    # Inspect counts tokens with tiktoken, which would download its encodings: use the copy litellm ships.
    spec = importlib.util.find_spec("litellm")
    assert spec is not None and spec.origin is not None
    tokenizers = Path(spec.origin).parent / "litellm_core_utils" / "tokenizers"
    env = {**os.environ, "TIKTOKEN_CACHE_DIR": str(tokenizers), "INSPECT_LOG_DIR": str(folder)}
    done = subprocess.run([sys.executable, "-c", INSPECT_EVAL, str(folder)], capture_output=True, text=True,
                          timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return folder


@pytest.mark.parametrize("log_format", ["json", "eval"])
def test_an_inspect_eval_log_imports_one_tape_per_sample(inspect_logs: Path, tmp_path: Path, log_format: str) -> None:
    (log,) = (inspect_logs / log_format).iterdir()
    ws = Workspace(tmp_path / "store.sqlite")
    report = ws.import_file(log)
    assert report.format == "inspect" and len(report.imported) == 1
    tape = ws.store.load_tape(report.imported[0])
    assert kinds(tape) == ["task", "thought", "tool_call", "tool_result", "final_answer"]
    assert tape.steps[-1].summary() == "It is sunny in Paris." and tape.metadata.target == "sunny"  # type: ignore[attr-defined]
    assert tape.metadata.scores["includes"]["value"] == "C"  # type: ignore[attr-defined]
    calls = ws.store.calls_for_tape(tape.id)
    assert [c.prompt_tokens > 0 for c in calls] == [True, True]
    assert calls[1].messages[-1]["role"] == "tool" and calls[0].tools[0]["function"]["name"] == "weather"  # type: ignore[index]


def _chat_log() -> list[dict[str, Any]]:
    tools = [{"type": "function", "function": {"name": "weather", "parameters": {}}}]
    first = {"model": "gpt-4o-mini", "tools": tools, "temperature": 0,
             "messages": [{"role": "user", "content": "Weather in Paris?"}]}
    asked = {"role": "assistant", "content": None, "tool_calls": [
        {"id": "call_1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Paris\"}"}}]}
    second = {**first, "messages": [*first["messages"], asked, {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}]}
    return [
        {"request": first, "response": {"created": 1_700_000_000, "choices": [{"message": asked}],
                                        "usage": {"prompt_tokens": 9, "completion_tokens": 3}}},
        {"request": second, "response": {"body": {"created": 1_700_000_001, "choices": [{"message": {
            "role": "assistant", "content": "Sunny."}}]}}},
        {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]},
    ]


def test_openai_chat_logs_group_into_conversations(tmp_path: Path) -> None:
    path = tmp_path / "chat.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in _chat_log()) + "\n")
    ws = Workspace(tmp_path / "store.sqlite")
    report = ws.import_file(path)
    assert report.format == "openai-chat" and len(report.imported) == 2
    tapes = sorted((ws.store.load_tape(t) for t in report.imported), key=lambda t: -len(t.steps))
    assert kinds(tapes[0]) == ["task", "tool_call", "tool_result", "final_answer"]
    assert kinds(tapes[1]) == ["task", "final_answer"]
    assert ws.store.calls_for_tape(tapes[0].id)[0].params == {"temperature": 0}
    as_list = tmp_path / "chat.json"
    as_list.write_text(json.dumps(_chat_log()))
    assert ws.import_file(as_list).imported == []  # the same conversations: already here


@pytest.mark.parametrize(("name", "text", "expected"), [
    ("unknown.json", json.dumps({"foo": 1}), "not a format Tape Studio imports; expected"),
    ("list.json", json.dumps([{"a": 1}, {"b": 2}]), "LangSmith run trees"),
    ("empty.jsonl", "\n\n", "the file has no JSON lines"),
    ("broken.jsonl", '{"a": 1}\n{oops\n', "line 2: invalid JSON"),
    ("mixed.jsonl", json.dumps({"resourceSpans": []}) + "\n" + json.dumps({"foo": 1}), "not a format"),
])
def test_unrecognised_files_are_refused_on_one_line_and_import_nothing(
        tmp_path: Path, name: str, text: str, expected: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    ws = Workspace(tmp_path / "store.sqlite")
    with pytest.raises(InputError, match=expected) as raised:
        ws.import_file(path)
    assert str(path) in str(raised.value) and "\n" not in str(raised.value)
    assert ws.store.count_tapes() == 0


def test_the_cli_imports_a_folder_of_jsonl_traces_and_says_what_it_kept(tmp_path: Path) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "chat.jsonl").write_text("\n".join(json.dumps(line) for line in _chat_log()))
    (folder / "run.json").write_text(json.dumps(_langsmith_tree()))
    done = subprocess.run([sys.executable, "-m", "tape_studio.studio.cli", "import", str(folder),
                           "--store", str(tmp_path / "s.sqlite")], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "imported 2 tapes" in done.stdout and "openai-chat: 2 tapes" in done.stdout
    assert "langsmith: 1 tapes" in done.stdout and "kept 1 spans (or runs) that map to no step" in done.stdout
