"""`tape-studio` without a subcommand: prepare the store, then serve the studio with Streamlit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

STORE_ENV = "TAPE_STUDIO_STORE"
"""How the launcher tells the Streamlit process which store to open (it cannot pass arguments)."""

APP = Path(__file__).parent / "app.py"


def launch(store: str | None, port: int, agents: Sequence[str] = ()) -> int:
    """Runs the studio until Streamlit exits; returns its exit status (0 after Ctrl+C)."""
    from tape_studio.core import plugins
    from tape_studio.core.demo import load_demo_tapes
    from tape_studio.core.workspace import Workspace

    # Creating the store here, not in the app, makes a bad --store fail in the terminal with one line
    # instead of on a web page; loading the demo tapes here keeps it out of every browser session.
    # Loading the agent sources here does the same for a broken agents file.
    ws = Workspace(store, agents=agents)
    load_demo_tapes(ws.store, ws.cache)
    path = ws.store.path.resolve()
    ws.store.close()

    print(f"Tape Studio on http://127.0.0.1:{port} (store: {path}) — Ctrl+C to stop", flush=True)
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP.resolve()),
        "--server.headless", "true",
        "--server.address", "127.0.0.1",
        "--server.port", str(port),
        "--browser.gatherUsageStats", "false",
        "--theme.base", "light",
        # Hides Streamlit's developer menu (deploy, rerun, settings): the studio is an app, not a script.
        "--client.toolbarMode", "minimal",
    ]
    # The Streamlit process loads the same agent sources: every one loaded here, by absolute path.
    sources = os.pathsep.join(plugins.source_refs())
    for source in plugins.loaded_sources():
        if source.label != "builtin":
            print(f"agents from {source.ref}: {', '.join(source.agents) or '(tools, node types or step kinds only)'}")
    process = subprocess.Popen(command, env={**os.environ, STORE_ENV: str(path), plugins.AGENTS_ENV: sources})
    # A plain `kill` of the launcher reaches only this process: pass it on, or the server lives on alone.
    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: process.terminate())
    try:
        return process.wait()
    except KeyboardInterrupt:
        # The terminal sent SIGINT to Streamlit too (same process group): let it shut down on its own,
        # and only force it if it hangs, so that Ctrl+C never leaves a server behind.
        try:
            process.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            process.kill()
            process.wait()
        return 0
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
