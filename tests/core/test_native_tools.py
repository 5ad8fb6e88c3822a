"""Models with native tool calling get `tools=` through litellm; the in-process models keep the
JSON-schema path. Against a local OpenAI-compatible server that answers with a tool call."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from tape_studio.core.agent import Agent
from tape_studio.core.environment import Environment
from tape_studio.core.llm import LLM, Prompt, supports_native_tools
from tape_studio.core.loop import run_to_end
from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents
from tape_studio.core.tape import Tape, TapeMetadata, Task
from tape_studio.core.tools import Tool


def book(city: str, nights: int = 1) -> str:
    """Books a hotel."""
    return f"booked {nights} night(s) in {city}"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append(body)
            if body.get("tools"):
                message = {"role": "assistant", "content": "Booking it.", "tool_calls": [{
                    "id": "call_1", "type": "function",
                    "function": {"name": "book", "arguments": json.dumps({"city": "Oslo", "nights": 2})}}]}
            else:
                message = {"role": "assistant", "content": json.dumps({"answer": "done"})}
            payload = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": body["model"],
                                  "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                                  "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    monkeypatch.setenv("OPENAI_API_BASE", f"http://127.0.0.1:{httpd.server_address[1]}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-real-key")
    try:
        yield received
    finally:
        httpd.shutdown()


SPEC = AgentSpec(
    name="booker", entry="plan",
    nodes=(NodeSpec(name="plan", type="choose_tool", tools=("book",), prompt=PromptComponents(instruction="Book.")),
           NodeSpec(name="answer", type="answer", prompt=PromptComponents(instruction="Say done."))),
    edges=(Edge(source="plan", target="answer"),),
)


def test_a_model_with_tool_calling_gets_tools_and_its_choice_becomes_a_tool_call(server: list[dict[str, Any]]) -> None:
    tool = Tool.from_function(book)
    agent = Agent(SPEC, LLM(model="openai/gpt-4o-mini", mode="live", retries=0), tools={"book": tool})
    tape = run_to_end(agent, Environment({"book": tool}), Tape(metadata=TapeMetadata(agent="booker"),
                                                              steps=(Task(text="A room in Oslo"),))).tape
    assert server, tape.metadata.error
    plan_request = server[0]
    assert plan_request["tools"][0]["function"]["name"] == "book"
    assert plan_request["tool_choice"] == "required" and "response_format" not in plan_request
    assert [s.kind for s in tape.steps] == ["task", "thought", "tool_call", "tool_result", "final_answer"]
    assert tape.steps[1].text == "Booking it."  # type: ignore[attr-defined]
    assert tape.steps[2].arguments == {"city": "Oslo", "nights": 2}  # type: ignore[attr-defined]
    assert tape.steps[3].content == "booked 2 night(s) in Oslo"  # type: ignore[attr-defined]
    assert "tools" not in server[1] and server[1]["response_format"]["type"] == "json_schema"


def test_in_process_models_take_the_json_schema_path() -> None:
    assert not supports_native_tools("local/smollm2") and not supports_native_tools("fake/anything")
    prompt = Prompt(messages=[{"role": "user", "content": "hi"}], response_format={"type": "json_object"},
                    tools=[Tool.from_function(book).openai_schema()])
    request = LLM(model="local/smollm2", mode="live").request(prompt)
    assert request.tools is None and request.response_format == {"type": "json_object"}


def test_requests_without_tools_keep_their_cache_key() -> None:
    prompt = Prompt(messages=[{"role": "user", "content": "hi"}])
    request = LLM(model="local/smollm2", mode="live").request(prompt)
    assert "tools" not in request.model_dump_json(exclude_none=True)
    assert request.key() == request.model_copy(update={"tools": None}).key()
