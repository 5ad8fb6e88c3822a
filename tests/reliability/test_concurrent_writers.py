"""Two sessions and an import write to one store from three processes while this process reads it
the way the studio does: every write lands whole, none is lost, and no "database is locked" escapes."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from reliability_helpers import check_store, runner

from tape_studio.core.interop.tape_files import write_bundle
from tape_studio.core.store import Store
from tape_studio.core.tape import StepMetadata, Tape, TapeMetadata, Task, Thought

SESSIONS_PER_WRITER = 6
BUNDLES, TAPES_PER_BUNDLE, STEPS_PER_TAPE = 8, 5, 40


def bundles(folder: Path) -> tuple[list[Path], dict[str, Tape]]:
    paths, tapes = [], {}
    for b in range(BUNDLES):
        batch = [Tape(metadata=TapeMetadata(agent="imported", title=f"bundle {b} tape {t}", status="completed"),
                      steps=(Task(text=f"task {b}.{t}"),) + tuple(
                          Thought(text=f"thought {n} " * 20, metadata=StepMetadata(node="plan", agent="imported"))
                          for n in range(STEPS_PER_TAPE - 1)))
                 for t in range(TAPES_PER_BUNDLE)]
        tapes.update({tape.id: tape for tape in batch})
        paths.append(folder / f"bundle{b}.json")
        write_bundle(paths[-1], batch, [])
    return paths, tapes


def test_two_runs_and_an_import_with_a_reader_lose_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_path = tmp_path / "store.sqlite"
    Store(store_path).close()  # created (and migrated) once, as the studio would have
    files, imported = bundles(tmp_path)
    monkeypatch.setenv("CRASH_RUNNER_LATENCY_S", "0")  # inherited by the writers: as much contention as possible
    writers = [runner("run", str(store_path), str(SESSIONS_PER_WRITER), home=tmp_path),
               runner("run", str(store_path), str(SESSIONS_PER_WRITER), home=tmp_path),
               runner("import", str(store_path), *map(str, files), home=tmp_path)]
    reads, failures = 0, []
    done = threading.Event()

    def read() -> None:
        nonlocal reads
        reader = Store(store_path)
        while not done.is_set():
            try:
                for summary in reader.list_tapes():
                    tape = reader.load_tape(summary.id)
                    assert len(tape.steps) >= 1
                    reads += 1
            except Exception as exc:  # noqa: BLE001 (any failure to read is the finding)
                failures.append(repr(exc))
                return

    thread = threading.Thread(target=read)
    thread.start()
    outputs = [writer.communicate(timeout=120) for writer in writers]
    done.set()
    thread.join()

    for writer, (_, stderr) in zip(writers, outputs):
        assert writer.returncode == 0, stderr
        assert "locked" not in stderr.lower()
    assert failures == [] and reads > 0
    snapshot = check_store(store_path)
    store = Store(store_path)
    sessions = [s for s in store.list_tapes() if s.agent == "qa"]
    assert len(sessions) == 2 * SESSIONS_PER_WRITER and {s.status for s in sessions} == {"completed"}
    for tape_id, tape in imported.items():
        assert store.load_tape(tape_id).steps == tape.steps
    assert len(snapshot.status) == 2 * SESSIONS_PER_WRITER + len(imported)
