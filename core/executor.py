"""Where batch work runs: a thread pool in this process (default) or Ray, on this machine or a cluster.

The seam is one method, `map(fn, items) -> results in input order`. A distributed backend ships
`fn` and each item to another process, so what it is given must be picklable: a top-level
function and plain data (specs, examples, a store *path*), never an open store or a closure over
one. Each remote task opens its own workspace on the shared store file; see the README.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from tape_studio.core.errors import ConfigError

T = TypeVar("T")
R = TypeVar("R")

ExecutorKind = Literal["threads", "ray"]
EXECUTOR_KINDS: tuple[ExecutorKind, ...] = ("threads", "ray")


class Executor(Protocol):
    """Runs a function over items, in parallel, and returns the results in input order."""

    distributed: bool
    """True when work leaves this process: items and function must then be picklable."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ExecutorChoice:
    """Which backend to use; a value the CLI and studio pass around (not a running executor)."""

    kind: ExecutorKind = "threads"
    address: str | None = None
    """Ray only: a cluster to join (`ray://host:10001` or `auto`); None starts Ray on this machine."""
    setup: Callable[[], None] | None = None
    """Ray only: a picklable function run first in every task, e.g. to register a fake model there."""


class ThreadExecutor:
    """A thread pool: model calls wait on I/O (or release the GIL), so threads overlap them well."""

    distributed = False

    def __init__(self, workers: int) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="batch")

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        if len(items) < 2:
            return [fn(item) for item in items]
        return list(self._pool.map(fn, items))

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


class RayExecutor:
    """Ray tasks, at most `workers` in flight; `setup` runs first in every task (e.g. to register a fake model)."""

    distributed = True

    def __init__(self, workers: int, address: str | None = None, setup: Callable[[], None] | None = None) -> None:
        ray = _import_ray()
        self.workers = max(1, workers)
        self._started_here = not ray.is_initialized()
        if self._started_here:
            # A local instance gets exactly `workers` CPUs, so "4 workers" means the same on threads and Ray.
            options: dict[str, Any] = {"address": address} if address else {"num_cpus": self.workers}
            ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False, **options)
        self._ray = ray
        self._task = ray.remote(num_cpus=1, max_retries=0)(_run_task)
        self._setup = setup

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        items = list(items)
        pending: dict[Any, int] = {}
        results: dict[int, R] = {}
        for index, item in enumerate(items):
            # A window of `workers` tasks keeps a large cluster from taking more than was asked for.
            if len(pending) >= self.workers:
                self._collect(pending, results)
            pending[self._task.remote(fn, self._setup, item)] = index
        while pending:
            self._collect(pending, results)
        return [results[index] for index in range(len(items))]

    def _collect(self, pending: dict[Any, int], results: dict[int, Any]) -> None:
        done, _ = self._ray.wait(list(pending), num_returns=1)
        for ref in done:
            results[pending.pop(ref)] = self._ray.get(ref)

    def close(self) -> None:
        if self._started_here and self._ray.is_initialized():
            self._ray.shutdown()


def open_executor(choice: ExecutorChoice, workers: int) -> Executor:
    if choice.kind == "threads":
        return ThreadExecutor(workers)
    if choice.kind == "ray":
        return RayExecutor(workers, choice.address, choice.setup)
    raise ConfigError(f"no executor {choice.kind!r}; choose one of {', '.join(EXECUTOR_KINDS)}")


def _run_task(fn: Callable[[Any], Any], setup: Callable[[], None] | None, item: Any) -> Any:
    if setup is not None:
        setup()
    return fn(item)


def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise ConfigError("the Ray executor needs Ray: pip install 'tape-studio[ray]'") from None
    return ray
