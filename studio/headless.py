"""The studio served in the background and opened in a headless Chromium: what the end-to-end
browser test and `scripts/screenshots.py` share. Needs Debian's `chromium` and `chromium-driver`
(`scripts/install_browser.sh`) and `selenium` (the `test` extra), imported only when used.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def missing_browser() -> str | None:
    """Why a headless browser cannot run here, or None when it can."""
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists():
            return f"{path} is missing: run scripts/install_browser.sh (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed: pip install -e '.[test]'"
    return None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    store: Path, port: int | None = None, timeout_s: float = 60.0, python: str | None = None, cwd: Path | None = None,
    args: Sequence[str] = (), announced: list[str] | None = None,
) -> Iterator[str]:
    """Runs `tape-studio --store STORE --port P [ARGS]` until the block ends; yields its base URL
    on this machine. `announced`, when given, receives the lines the launcher printed at start.

    `python` and `cwd` run another installation of the studio (the packaging test uses them)."""
    port = port or free_port()
    # A process group of its own: the launcher starts Streamlit as a child, and both must go.
    process = subprocess.Popen(
        [python or sys.executable, "-m", "tape_studio.studio.cli", "--port", str(port), "--store", str(store), *args],
        cwd=cwd or Path(__file__).resolve().parent.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        start_new_session=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        if announced is not None and process.stdout is not None:
            announced.append(process.stdout.readline().decode())  # "Tape Studio on …": printed before Streamlit starts
            if "?token=" in announced[0]:
                announced.append(process.stdout.readline().decode())
        _wait_healthy(url, process, timeout_s)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _wait_healthy(url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            raise RuntimeError(f"the studio exited with {process.returncode}:\n{output[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"the studio did not answer at {url} within {timeout_s:.0f} s")


@contextmanager
def chromium(profile: Path, width: int = 1500, height: int = 1100) -> Iterator[Any]:
    """A headless Chromium driven by selenium, with a throwaway profile folder."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def wait_for_text(driver: Any, text: str, timeout_s: float = 30.0) -> Any:
    """The first visible element whose own text contains `text` (the page has rendered it)."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    literal = "concat('" + "', \"'\", '".join(text.split("'")) + "', '')" if "'" in text else f"'{text}'"
    xpath = f"//*[contains(text(), {literal})]"

    def visible(drv: Any) -> Any:
        shown = [element for element in drv.find_elements(By.XPATH, xpath) if element.is_displayed()]
        return shown[0] if shown else False

    return WebDriverWait(driver, timeout_s, poll_frequency=0.25).until(visible)
