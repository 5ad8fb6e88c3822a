"""`tape-studio` without a subcommand: prepare the store, then serve the studio with Streamlit."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

from tape_studio.studio.access import ACCESS_ENV, token_for

STORE_ENV = "TAPE_STUDIO_STORE"
"""How the launcher tells the Streamlit process which store to open (it cannot pass arguments)."""

APP = Path(__file__).parent / "app.py"


def launch(store: str | None, port: int, agents: Sequence[str] = (), host: str = "127.0.0.1") -> int:
    """Runs the studio until Streamlit exits; returns its exit status (0 after Ctrl+C).

    On any address but loopback the studio requires an access token (see studio/access.py),
    printed here with a link that carries it."""
    from tape_studio.core import plugins
    from tape_studio.core.demo import load_demo_tapes
    from tape_studio.core.workspace import Workspace

    token = token_for(host)  # before anything else: a refused token must not leave a store behind

    # Creating the store here, not in the app, makes a bad --store fail in the terminal with one line
    # instead of on a web page; loading the demo tapes here keeps it out of every browser session.
    # Loading the agent sources here does the same for a broken agents file.
    ws = Workspace(store, agents=agents)
    load_demo_tapes(ws.store, ws.cache)
    path = ws.store.path.resolve()
    ws.store.close()

    env = {name: value for name, value in os.environ.items() if name != ACCESS_ENV}
    if token is None:
        print(f"Tape Studio on http://{host}:{port} (store: {path}) — Ctrl+C to stop", flush=True)
    else:
        env[ACCESS_ENV] = token
        shown = socket.gethostname() if host in ("0.0.0.0", "::") else host
        print(f"Tape Studio on http://{shown}:{port}/?token={token} (store: {path}) — Ctrl+C to stop", flush=True)
        print(f"Listening on {host}, reachable from other machines: each browser must give this access token "
              "once (the link above carries it).", flush=True)
    command = [
        sys.executable, "-m", "streamlit", "run", str(APP.resolve()),
        "--server.headless", "true",
        "--server.address", host,
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
    process = subprocess.Popen(command, env={**env, STORE_ENV: str(path), plugins.AGENTS_ENV: sources})
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
