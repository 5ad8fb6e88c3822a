"""Where batch work runs: a thread pool in this process (default) or Ray, on this machine or a cluster.

The seam is `imap(fn, items)`, results as they come with their input index (and `map`, the same in
input order). A distributed backend ships `fn` and each item to another process, so what it is
given must be picklable: a top-level function and plain data (specs, examples, tapes), never an
open store or a closure over one. Remote tasks write nothing: they return what they made, and the
driver alone writes the store, so no node but the driver's needs the data folder.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
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

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[int, R]]:
        """`(index, result)` pairs as each item finishes, so the caller can commit results early."""
        ...

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

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[int, R]]:
        futures = {self._pool.submit(fn, item): index for index, item in enumerate(items)}
        for future in as_completed(futures):
            yield futures[future], future.result()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


TASK_RETRIES = 3
"""How often Ray reruns a task whose worker or node died; a task writes nothing, so a rerun is safe.
An exception the task itself raises is not retried: it would only happen again."""


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
        self._task = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(_run_task)
        self._setup = setup
        self._residents: dict[tuple[Any, ...], Any] = {}

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> list[R]:
        results = dict(self.imap(fn, items))
        return [results[index] for index in range(len(results))]

    def imap(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[tuple[int, R]]:
        pending: dict[Any, int] = {}
        source = enumerate(items)
        while True:
            # A window of `workers` tasks keeps a large cluster from taking more than was asked for.
            if len(pending) >= self.workers:
                yield self._next(pending)
                continue
            # The next item is drawn only when a task can start: a lazy `items` decides it then (a budget, a stop).
            entry = next(source, None)
            if entry is None:
                break
            pending[self._task.remote(fn, self._setup, entry[1])] = entry[0]
        while pending:
            yield self._next(pending)

    def _next(self, pending: dict[Any, int]) -> tuple[int, Any]:
        done, _ = self._ray.wait(list(pending), num_returns=1)
        return pending.pop(done[0]), self._ray.get(done[0])

    def on_driver_node(self, cls: type, *args: Any) -> Any:
        """An actor of `cls(*args)` pinned to this process's node, where the data folder is: how
        tasks elsewhere read from it (once per class and arguments, then reused)."""
        key = (cls, *args)
        if key not in self._residents:
            from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

            here = NodeAffinitySchedulingStrategy(self._ray.get_runtime_context().get_node_id(), soft=False)
            self._residents[key] = self._ray.remote(num_cpus=0)(cls).options(scheduling_strategy=here).remote(*args)
        return self._residents[key]

    def close(self) -> None:
        if self._ray.is_initialized():
            for actor in self._residents.values():
                self._ray.kill(actor)
        self._residents.clear()
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
