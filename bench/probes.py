"""Adversarial probes: what a hostile or unlucky user does to Tape Studio, and how each one ends.

A benchmark-like script, not a test: it prints a table. Run with `python bench/probes.py [--only WORD]
[--json]`. Every probe runs the real `tape-studio` command (or a short Python snippet) in a child
process with a time limit and a memory limit, in a scratch folder, against whatever `tape_studio`
this Python imports, so the same script measures any version. Each ends as one of:

  held         the right thing happened (the data stayed whole, the key stayed secret, it worked)
  clear error  refused with one line on stderr and a non-zero status, no traceback
  broken       a traceback, a hang, a leak, a lost or wrong record, or memory past the limit
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from probe_kit import (
    BROKEN,
    CLEAR,
    HELD,
    KEY,
    PROBES,
    TIMEOUT_S,
    Outcome,
    bundle_text,
    cli,
    digest,
    judged,
    keyed_env,
    model_server,
    probe,
    python,
    seeded_store,
    sql,
    tapes_in,
)


# --- security ------------------------------------------------------------------------------------


@probe("security", "provider echoes the key in a 401 body: store, WAL, cache, output")
def key_in_error_body(folder: Path) -> Outcome:
    with model_server("echo") as server:
        done = cli("run", "--agent", "qa", "--task", "France?", home=folder, env=keyed_env(server))
        shown = cli("list", "--json", home=folder)
    if done is None:
        return Outcome(BROKEN, "hung")
    leaks = [path.name for path in folder.rglob("*") if path.is_file() and KEY.encode() in path.read_bytes()]
    leaks += [name for name, text in (("stdout", done.stdout), ("stderr", done.stderr),
                                      ("list", shown.stdout if shown else "")) if KEY in text]
    return Outcome(BROKEN, f"key in {', '.join(sorted(set(leaks)))}") if leaks else Outcome(HELD, "masked everywhere")


@probe("security", "YAML alias bomb (1 KB, nine levels of nine)")
def yaml_bomb(folder: Path) -> Outcome:
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 9) + "]" for n in range(1, 9)]
    (folder / "bomb.yaml").write_text("\n".join(lines) + "\nsteps: [{kind: thought, text: boom, x: *a8}]\n")
    return judged(cli("import", str(folder / "bomb.yaml"), home=folder))


def export_to(folder: Path, out: Path) -> subprocess.CompletedProcess[str] | None:
    store = seeded_store(folder, 3)
    return cli("export", "--out", str(out), home=folder, store=store)


@probe("security", "export --out onto a device node (a /dev/full made here)")
def export_device(folder: Path) -> Outcome:
    device = folder / "full"
    os.mknod(device, 0o666 | 0o020000, os.makedev(1, 7))
    outcome = judged(export_to(folder, device))
    return Outcome(BROKEN, "the device node was replaced by a file") if not device.is_char_device() else outcome


@probe("security", "export --out onto a FIFO")
def export_fifo(folder: Path) -> Outcome:
    os.mkfifo(folder / "fifo")
    outcome = judged(export_to(folder, folder / "fifo"))
    return Outcome(BROKEN, "the FIFO was replaced by a file") if not (folder / "fifo").is_fifo() else outcome


@probe("security", "export --out onto a folder")
def export_folder(folder: Path) -> Outcome:
    (folder / "out").mkdir()
    return judged(export_to(folder, folder / "out"))


@probe("security", "export --out under a regular file")
def export_under_file(folder: Path) -> Outcome:
    (folder / "plain").write_text("keep")
    return judged(export_to(folder, folder / "plain" / "x.json"))


@probe("security", "export --out through a link to a regular file")
def export_symlink(folder: Path) -> Outcome:
    (folder / "real.json").write_text("old")
    (folder / "link.json").symlink_to(folder / "real.json")
    outcome = judged(export_to(folder, folder / "link.json"))
    if outcome.verdict == HELD and not (folder / "link.json").is_symlink():
        return Outcome(BROKEN, "the link was replaced, not followed")
    return outcome


@probe("security", "ESC and NUL in a title, printed by list and show")
def terminal_escapes(folder: Path) -> Outcome:
    source = folder / "hostile.json"
    source.write_text(bundle_text(1, "red\x1b[31m\x1b]0;owned\x07 nul\x00", prefix="hostile"))
    store = folder / "store.sqlite"
    cli("import", str(source), home=folder, store=store)
    outputs = [cli("list", home=folder, store=store), cli("show", "probe-hostile-0", home=folder, store=store)]
    raw = [o for o in outputs if o is None or "\x1b" in o.stdout + o.stderr or "\x00" in o.stdout]
    return Outcome(BROKEN, "raw control characters reached the terminal") if raw else Outcome(HELD, "shown as escapes")


@probe("security", "a studio served on 0.0.0.0: a browser session without the token")
def open_studio(folder: Path) -> Outcome:
    store = seeded_store(folder, 2)
    code = f"""
import os, sys
os.environ["TAPE_STUDIO_STORE"] = {str(store)!r}
os.environ["TAPE_STUDIO_ACCESS_TOKEN"] = "a-token-the-launcher-printed-123"  # what `--host 0.0.0.0` sets
from streamlit.testing.v1 import AppTest
import tape_studio.studio.app as app
at = AppTest.from_file(app.__file__, default_timeout=30).run()
print("EXPOSED" if any("seed" in str(f.value.to_dict()) for f in at.dataframe) else "GATED")
"""
    done = python(code, folder)
    if done is None or "EXPOSED" in done.stdout or "GATED" not in done.stdout:
        return Outcome(BROKEN, "a session without the token reads every tape")
    return Outcome(HELD, "only the token form is shown")


# --- bounded and clear ---------------------------------------------------------------------------


@probe("bounded", "model server drips its answer at 1 byte/s (timeout 2 s)")
def slow_drip(folder: Path) -> Outcome:
    with model_server("drip") as server:
        code = f"""
import os, time
os.environ.update({keyed_env(server)!r})
from tape_studio.core.llm import LLM, Prompt, _load_litellm
_load_litellm()  # its import takes seconds: not the server's slowness
started = time.monotonic()
call = LLM(model="openai/probe-model", mode="live", timeout_s=2, retries=0).complete(
    Prompt(messages=[{{"role": "user", "content": "hi"}}]))
print(round(time.monotonic() - started, 1), call.error[:80])
"""
        done = python(code, folder, timeout=45)
    if done is None:
        return Outcome(BROKEN, "no error step within 45 s")
    if done.returncode != 0:
        return judged(done)
    seconds, _, error = done.stdout.strip().partition(" ")
    return Outcome(HELD, f"error after {seconds} s: {error[:60]}") if error else Outcome(BROKEN, "no error recorded")


@probe("bounded", "JSON nested 100,000 deep, then a good file")
def deep_json(folder: Path) -> Outcome:
    (folder / "a-deep.json").write_text("[" * 100_000 + "]" * 100_000)
    (folder / "b-good.json").write_text(bundle_text(1, "good"))
    done = cli("import", str(folder / "a-deep.json"), str(folder / "b-good.json"), home=folder,
               store=folder / "store.sqlite")
    outcome = judged(done)
    if outcome.verdict != BROKEN and (not (folder / "store.sqlite").exists() or not tapes_in(folder / "store.sqlite")):
        return Outcome(BROKEN, "the good file after it was not imported")
    return outcome


@probe("bounded", "YAML alias that contains itself")
def recursive_yaml(folder: Path) -> Outcome:
    (folder / "loop.yaml").write_text("&a [*a]\n")
    return judged(cli("import", str(folder / "loop.yaml"), home=folder))


@probe("bounded", "a FIFO named .json in an imported folder")
def import_fifo(folder: Path) -> Outcome:
    (folder / "in").mkdir()
    os.mkfifo(folder / "in" / "fifo.json")
    return judged(cli("import", str(folder / "in"), home=folder, timeout=20), timeout=20)


@probe("bounded", "a link to /dev/zero named .json")
def import_dev_zero(folder: Path) -> Outcome:
    (folder / "zero.json").symlink_to("/dev/zero")
    return judged(cli("import", str(folder / "zero.json"), home=folder, timeout=30), timeout=30)


@probe("bounded", "a file over the import size limit (--max-file-mb 0.001)")
def import_too_big(folder: Path) -> Outcome:
    (folder / "big.json").write_text(bundle_text(30, "big", 500))
    done = cli("import", str(folder / "big.json"), "--max-file-mb", "0.001", home=folder)
    if done is not None and "unrecognized arguments" in done.stderr:
        return Outcome(BROKEN, "no size limit to set: any size is read whole")
    return judged(done)


@probe("bounded", "a 50 MB model answer: what is kept, and memory")
def huge_answer(folder: Path) -> Outcome:
    with model_server("huge") as server:
        code = f"""
import os
os.environ.update({keyed_env(server)!r})
from tape_studio.core.llm import LLM, Prompt
call = LLM(model="openai/probe-model", mode="live", retries=0).complete(Prompt(messages=[{{"role": "user", "content": "hi"}}]))
print(len(call.output), int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) // 1024, call.error[:40])
"""
        done = python(code, folder, timeout=120)
    if done is None or done.returncode != 0:
        return judged(done, 120)
    kept, peak, error = done.stdout.split(" ", 2)
    verdict = HELD if int(kept) <= 2_000_000 else BROKEN
    return Outcome(verdict, f"kept {int(kept):,} characters, peak {peak} MiB {error.strip()}")


@probe("bounded", "a bundle with two tapes of one id")
def duplicate_ids(folder: Path) -> Outcome:
    (folder / "twice.json").write_text(bundle_text(2, "twice", same_id=True))
    outcome = judged(cli("import", str(folder / "twice.json"), home=folder, store=folder / "store.sqlite"))
    if outcome.verdict == HELD:
        return Outcome(BROKEN, "merged into one tape that never existed")
    return outcome


@probe("bounded", "a non-UTF-8 byte in --task")
def task_not_utf8(folder: Path) -> Outcome:
    return judged(cli("run", "--agent", "qa", "--task", b"What is \xff?", home=folder))


@probe("bounded", "a lone surrogate escape in an imported title")
def surrogate_title(folder: Path) -> Outcome:
    (folder / "s.json").write_text(bundle_text(1, "x").replace('"x 0"', '"\\ud800"'))
    return judged(cli("import", str(folder / "s.json"), home=folder))


@probe("bounded", "a lone surrogate escape in --replace-step")
def surrogate_step(folder: Path) -> Outcome:
    store = seeded_store(folder, 1)
    return judged(cli("fork", "probe-seed-0", "--at", "1", "--replace-step", '{"kind": "thought", "text": "\\ud800"}',
                      home=folder, store=store))


@probe("bounded", "an empty file and a file that is not UTF-8")
def not_text(folder: Path) -> Outcome:
    (folder / "empty.json").write_text("")
    (folder / "latin.json").write_bytes(b'{"tapes": "\xe9"}')
    done = cli("import", str(folder / "empty.json"), str(folder / "latin.json"), home=folder)
    if done is not None and done.returncode != 0 and "Traceback" not in done.stderr and len(done.stderr.splitlines()) == 2:
        return Outcome(CLEAR, "one line per file")
    return judged(done)


# --- store and file faults ----------------------------------------------------------------------


def store_fault(folder: Path, make: Callable[[Path], None], command: str = "list",
                preexec: Callable[[], None] | None = None) -> Outcome:
    """`command` on a store `make` spoiled; the store is the data folder's default one (no --store)."""
    store = folder / "data" / "store.sqlite"
    store.parent.mkdir()
    make(store)
    before = digest(store) if store.is_file() else ""
    args = ["import", str(folder / "in.json")] if command == "import" else [command]
    (folder / "in.json").write_text(bundle_text(3, "in"))
    outcome = judged(cli(*args, home=store.parent, preexec=preexec))
    for path in (store, store.parent):
        path.chmod(0o755 if path.is_dir() else 0o644)
    if store.is_file() and digest(store) != before and outcome.verdict != HELD:
        return Outcome(BROKEN, "the store's bytes changed")
    return outcome


def _filled(store: Path) -> None:
    seeded = seeded_store(store.parent.parent / "seed", 40)
    store.write_bytes(seeded.read_bytes())


@probe("store", "the default store's path is a folder")
def store_is_folder(folder: Path) -> Outcome:
    return store_fault(folder, lambda p: p.mkdir())


@probe("store", "the store is random bytes")
def store_random(folder: Path) -> Outcome:
    return store_fault(folder, lambda p: p.write_bytes(os.urandom(8192)))


@probe("store", "the store is a JSON file")
def store_json(folder: Path) -> Outcome:
    return store_fault(folder, lambda p: p.write_text('{"tapes": []}'))


def _no_root_override() -> None:
    if os.geteuid() == 0:  # as root, permissions bind only without these capabilities
        libc = ctypes.CDLL(None, use_errno=True)
        for capability in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
            libc.prctl(24, capability, 0, 0, 0)  # PR_CAPBSET_DROP


@probe("store", "the store file is read-only (import)")
def store_read_only(folder: Path) -> Outcome:
    def make(store: Path) -> None:
        (folder / "seed").mkdir()
        _filled(store)
        store.chmod(0o444)
    return store_fault(folder, make, "import", _no_root_override)


@probe("store", "the store's folder is read-only (import)")
def store_folder_read_only(folder: Path) -> Outcome:
    def make(store: Path) -> None:
        (folder / "seed").mkdir()
        _filled(store)
        store.parent.chmod(0o555)
    return store_fault(folder, make, "import", _no_root_override)


@probe("store", "a damaged page in the tapes table (list)")
def store_damaged(folder: Path) -> Outcome:
    def make(store: Path) -> None:
        (folder / "seed").mkdir()
        _filled(store)
        conn = sqlite3.connect(store)
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tapes'").fetchone()[0]
        conn.close()
        with store.open("r+b") as handle:
            handle.seek((root - 1) * 4096)
            handle.write(os.urandom(4096))
    return store_fault(folder, make)


def _full_disk(folder: Path, headroom: int) -> Outcome:
    store = seeded_store(folder, 5)
    (folder / "big.json").write_text(bundle_text(200, "big", 5000))
    limit = store.stat().st_size + headroom

    def small_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    outcome = judged(cli("import", str(folder / "big.json"), home=folder, store=store, preexec=small_disk))
    conn = sqlite3.connect(store)
    whole = conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    kept = conn.execute("SELECT COUNT(*) FROM tapes").fetchone()[0]
    conn.close()
    return outcome if whole and kept == 5 else Outcome(BROKEN, f"integrity {whole}, {kept} tapes")


@probe("store", "a full disk, 8 KB left (import)")
def full_disk_8k(folder: Path) -> Outcome:
    return _full_disk(folder, 8 * 1024)


@probe("store", "a full disk, 100 KB left (import)")
def full_disk_100k(folder: Path) -> Outcome:
    return _full_disk(folder, 100 * 1024)


@probe("store", "a store of schema 99 (import)")
def newer_schema(folder: Path) -> Outcome:
    store = seeded_store(folder, 2)
    sql(store, "INSERT INTO schema_migrations VALUES (99, '2099-01-01')")
    before = digest(store)
    (folder / "in.json").write_text(bundle_text(2, "in"))
    outcome = judged(cli("import", str(folder / "in.json"), home=folder, store=store))
    sql(store, "SELECT 1")
    return Outcome(BROKEN, "written without a word") if digest(store) != before else outcome


@probe("store", "a store with a column this version does not know (import)")
def unknown_column(folder: Path) -> Outcome:
    store = seeded_store(folder, 2)
    sql(store, "ALTER TABLE tapes ADD COLUMN from_the_future TEXT")
    (folder / "in.json").write_text(bundle_text(2, "in"))
    outcome = judged(cli("import", str(folder / "in.json"), home=folder, store=store))
    return Outcome(BROKEN, "written without a word") if outcome.verdict == HELD else outcome


@probe("store", "the LLM cache folder is a file")
def cache_is_file(folder: Path) -> Outcome:
    (folder / "llm_cache").write_text("not a folder")
    return judged(cli("list", home=folder, store=folder / "store.sqlite"))


@probe("store", "a killed export's temporary file")
def killed_export(folder: Path) -> Outcome:
    store = seeded_store(folder, 3)
    out = folder / "out.json"
    code = f"""
import os, sys, time
os.replace = lambda *args: time.sleep(60)
from tape_studio.studio.cli import main
main(["export", "--out", {str(out)!r}, "--store", {str(store)!r}])
"""
    process = subprocess.Popen([sys.executable, "-c", code], env={**os.environ, "TAPE_STUDIO_HOME": str(folder)})
    deadline = time.monotonic() + 30
    while not list(folder.glob(".out.json*.tmp")) and time.monotonic() < deadline:
        time.sleep(0.05)
    process.terminate()
    process.wait()
    cli("export", "--out", str(out), home=folder, store=store)  # the next export of the same file
    left = list(folder.glob(".out.json*.tmp"))
    return Outcome(BROKEN, f"{len(left)} temporary file(s) left behind") if left else Outcome(HELD, "none left")


# --- concurrent runs -----------------------------------------------------------------------------

SLOW_CLI = """
import sys
from tape_studio.core.fake_llm import register_fake
from tape_studio.studio.cli import main
answer = lambda m, p: '{"thought": "t", "tool": "lookup", "input": "France"}' if "choosing" in m[0]["content"] else '{"answer": "Paris"}'
register_fake("probe-slow", answer, latency_s=float(sys.argv[1]))
sys.exit(main(sys.argv[2:]))
"""


def slow_cli(latency: float, *args: str, home: Path, wait: bool = True) -> Any:
    argv = [sys.executable, "-c", SLOW_CLI, str(latency), *args]
    env = {**os.environ, "TAPE_STUDIO_HOME": str(home), "TAPE_STUDIO_LLM_MODE": "live"}
    if wait:
        try:
            return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            return None
    return subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _running_tape(folder: Path) -> tuple[Path, str]:
    store = folder / "store.sqlite"
    done = slow_cli(0, "run", "--agent", "qa", "--task", "France?", "--max-iterations", "0", "--json", "--store",
                    str(store), home=folder)
    return store, json.loads(done.stdout)["tape_id"]


def _updated_at(store: Path, tape_id: str) -> str:
    conn = sqlite3.connect(store, timeout=30)
    try:
        return str(conn.execute("SELECT updated_at FROM tapes WHERE id = ?", (tape_id,)).fetchone()[0])
    finally:
        conn.close()


def _wait_started(store: Path, tape_id: str, process: subprocess.Popen[str], before: str) -> None:
    """Until the run has begun: it re-saves the tape (status running, a new updated_at) first thing."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None and _updated_at(store, tape_id) == before:
        time.sleep(0.05)


@probe("concurrency", "two resumes of one tape")
def two_resumes(folder: Path) -> Outcome:
    store, tape_id = _running_tape(folder)
    before = _updated_at(store, tape_id)
    first = slow_cli(3, "resume", tape_id, "--model", "fake/probe-slow", "--store", str(store), home=folder, wait=False)
    _wait_started(store, tape_id, first, before)
    second = slow_cli(3, "resume", tape_id, "--model", "fake/probe-slow", "--store", str(store), home=folder)
    first.wait(timeout=TIMEOUT_S)
    return judged(second) if second is None or second.returncode != 0 else Outcome(BROKEN, "both ran the tape")


@probe("concurrency", "delete a tape while a run appends to it")
def delete_during_run(folder: Path) -> Outcome:
    code = f"""
import threading, time
from tape_studio.core.fake_llm import register_fake
from tape_studio.core.workspace import Workspace
model = register_fake("probe-slow", lambda m, p: '{{"thought": "t", "tool": "lookup", "input": "France"}}', latency_s=1.0)
ws = Workspace({str(folder / "store.sqlite")!r}, model=model, mode="live")
events = ws.run("qa", "France?")
first = next(events)  # the run holds the tape now
tape_id = ws.store.list_tapes()[0].id
errors = []
def delete():
    try:
        ws.store.delete_tapes([tape_id])
    except Exception as exc:
        errors.append(f"{{type(exc).__name__}}: {{exc}}")
threading.Thread(target=delete).start()
for event in events:
    pass
print("REFUSED " + errors[0] if errors else "DELETED")
"""
    done = python(code, folder)
    if done is None or done.returncode != 0:
        return judged(done)
    return Outcome(CLEAR, done.stdout.strip()[8:100]) if done.stdout.startswith("REFUSED") else Outcome(
        BROKEN, "deleted under a running run")


@probe("concurrency", "a tape whose process was killed mid-run, then listed")
def killed_run_status(folder: Path) -> Outcome:
    store, tape_id = _running_tape(folder)
    before = _updated_at(store, tape_id)
    first = slow_cli(30, "resume", tape_id, "--model", "fake/probe-slow", "--store", str(store), home=folder, wait=False)
    _wait_started(store, tape_id, first, before)
    first.kill()
    first.wait()
    listed = cli("list", "--json", home=folder, store=store)
    status = {row["id"]: row["status"] for row in json.loads(listed.stdout)}.get(tape_id) if listed and listed.returncode == 0 else None
    return Outcome(HELD, "shown as interrupted") if status == "interrupted" else Outcome(BROKEN, f"shown as {status}")


# --- providers -----------------------------------------------------------------------------------


@probe("providers", "anthropic/* model, first call (default seed)")
def anthropic_first_call(folder: Path) -> Outcome:
    with model_server() as server:
        done = cli("run", "--agent", "qa", "--task", "France?", "--model", "anthropic/claude-probe", "--json",
                   home=folder, env={"ANTHROPIC_API_BASE": server.url, "ANTHROPIC_API_KEY": "probe-key-123456"})
    if done is None or "Traceback" in done.stderr:
        return judged(done)
    result = json.loads(done.stdout or "{}")
    if result.get("status") == "completed":
        return Outcome(HELD, "completed")
    return Outcome(BROKEN, (result.get("error") or done.stderr)[:100])


# --- the table -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run the probes whose area or name contains this")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    for number, item in enumerate(PROBES, start=1):
        if args.only and args.only not in item.area and args.only not in item.name:
            continue
        with tempfile.TemporaryDirectory(prefix="tape-studio-probe-") as tmp:
            folder = Path(tmp)
            folder.chmod(0o755)
            try:
                outcome = item.run(folder)
            except Exception as exc:  # noqa: BLE001 -- a probe that could not even run is reported, not fatal
                outcome = Outcome(BROKEN, f"probe failed: {type(exc).__name__}: {exc}"[:110])
            finally:
                for path in folder.rglob("*"):
                    if path.is_dir() and not path.is_symlink():
                        path.chmod(0o755)
        # The scratch folder means nothing to a reader; details are cut to fit a line of the table.
        outcome.detail = outcome.detail.replace(f"{folder}/", "").replace(str(folder), ".")[:100]
        rows.append({"n": number, "area": item.area, "probe": item.name, **outcome.__dict__})
        if not args.json:
            print(f"{number:>3}  {item.area:<12} {item.name:<66} {outcome.verdict:<12} {outcome.detail}", flush=True)
    counts = {verdict: sum(row["verdict"] == verdict for row in rows) for verdict in (HELD, CLEAR, BROKEN)}
    if args.json:
        print(json.dumps({"probes": rows, "counts": counts}, indent=2))
    else:
        print(f"\n{len(rows)} probes: {counts[HELD]} held, {counts[CLEAR]} clear error, {counts[BROKEN]} broken")


if __name__ == "__main__":
    main()
