"""Each provider is sent only the parameters it supports: the default `seed` (kept for models that
honour it) must not make Anthropic and others refuse the very first call. The fault server poses
as each provider's API, reached through litellm's own code for that provider."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_server import FaultServer, fault_server

from tape_studio.core.workspace import Workspace

# model, the environment variables that point litellm at our server, and the request path it uses
PROVIDERS = {
    "anthropic/claude-test": ("ANTHROPIC_API_BASE", "ANTHROPIC_API_KEY", "/v1/messages"),
    "gemini/gemini-test": ("GEMINI_API_BASE", "GEMINI_API_KEY", ":generateContent"),
    "ollama_chat/llama-test": ("OLLAMA_API_BASE", "OLLAMA_API_KEY", "/api/chat"),
    "mistral/mistral-test": ("MISTRAL_AZURE_API_BASE", "MISTRAL_API_KEY", "/chat/completions"),
    "perplexity/sonar-test": ("PERPLEXITY_API_BASE", "PERPLEXITYAI_API_KEY", "/chat/completions"),
    "openai/gpt-test": ("OPENAI_API_BASE", "OPENAI_API_KEY", "/chat/completions"),
}
NO_SEED = {"anthropic/claude-test", "perplexity/sonar-test"}
"""Providers whose APIs have no seed: litellm refuses to send one unless told to drop it."""


@pytest.fixture(scope="module")
def server() -> Iterator[FaultServer]:
    with fault_server() as state:
        yield state


@pytest.mark.parametrize("model", list(PROVIDERS))
def test_a_qa_session_completes_on_each_provider_shape(
    model: str, server: FaultServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base_var, key_var, path = PROVIDERS[model]
    monkeypatch.setenv(base_var, server.url.removesuffix("/v1") if model.startswith(("anthropic", "ollama", "gemini"))
                       else server.url)
    monkeypatch.setenv(key_var, "test-key-123456")
    server.requests.clear(), server.paths.clear()
    ws = Workspace(tmp_path / "store.sqlite", model=model, mode="live")
    ws.llm.retries = 0
    ended = [event for event in ws.run("qa", "What is the capital of France?")][-1]
    tape = ended.tape  # type: ignore[union-attr]
    assert tape.metadata.status == "completed", tape.metadata.error
    assert tape.metadata.result == "Paris"
    chats = [request for sent, request in zip(server.paths, server.requests) if path in sent]
    assert len(chats) == 2, server.paths  # plan and answer, through this provider's own API
    if model in NO_SEED:
        assert all("seed" not in request for request in chats), chats[0]
