"""The project installs under one import name, `tape_studio`, and works beside a user's own `core`.

Each test makes a fresh virtual environment whose only extra path is this suite's site-packages
(for the dependencies), installs the project into it (as a wheel, or editable), and runs the CLI
and the studio from a folder that holds a user package named `core` and one named `studio`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import urllib.request
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.live_model  # the installed CLI runs the embedded model

from tape_studio.studio.headless import serve

ROOT = Path(__file__).resolve().parents[1]
GENERIC_NAMES = ("core", "studio", "pages", "demo_tapes")


def _run(*args: str | Path, cwd: Path | None = None, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                            env={**os.environ, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert result.returncode == 0, f"{args} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    return result


def _fresh_venv(where: Path) -> Path:
    """A venv without pip whose dependencies (and pip itself) come from this suite's environment."""
    _run(sys.executable, "-m", "venv", "--without-pip", where)
    python = where / "bin" / "python"
    purelib = _run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    Path(purelib, "suite-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _user_project(where: Path) -> Path:
    """A user's folder with packages whose generic names we must not collide with."""
    for name in ("core", "studio"):
        package = where / name
        package.mkdir(parents=True)
        (package / "__init__.py").write_text(f"WHO = 'the user {name}'\n")
        (package / "config.py").write_text("NOT_OURS = True\n")
    return where


def _check_install(python: Path, project: Path, tmp_path: Path) -> None:
    bin_dir = python.parent
    probe = textwrap.dedent(f"""
        import importlib.util, core, tape_studio
        assert core.WHO == 'the user core', core.__file__
        from tape_studio.core.config import LLM_MODES
        missing = [n for n in {GENERIC_NAMES!r} if n not in ('core', 'studio') and importlib.util.find_spec(n)]
        assert not missing, missing
        print(tape_studio.__file__)
    """)
    _run(python, "-c", probe, cwd=project)
    store = tmp_path / "store.sqlite"
    listed = _run(bin_dir / "tape-studio", "--store", store, "list", "--json", cwd=project)
    assert listed.stdout.strip().startswith("[")
    ran = _run(bin_dir / "tape-studio", "run", "--agent", "qa", "--task", "What is 2+3?", "--store", store,
               "--json", cwd=project)  # the embedded model, found from the installed package
    assert '"status": "completed"' in ran.stdout
    page_probe = textwrap.dedent("""
        import pathlib, tape_studio.pages
        from streamlit.testing.v1 import AppTest
        page = pathlib.Path(tape_studio.pages.__file__).parent / 'browse.py'
        at = AppTest.from_file(str(page), default_timeout=120).run()
        assert not at.exception, at.exception
    """)
    _run(python, "-c", page_probe, cwd=project)
    with serve(store, python=str(python), cwd=project) as url:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=5) as response:
            assert response.status == 200


def _tracked_copy(where: Path) -> Path:
    """The checkout's committed and staged files only, so the wheel cannot depend on leftovers and
    the build's own files stay out of the checkout."""
    listed = _run("git", "ls-files", "--cached", "--others", "--exclude-standard", cwd=ROOT).stdout.split("\n")
    for name in filter(None, listed):
        source = ROOT / name
        if source.is_file():
            target = where / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return where


def test_wheel_installs_under_tape_studio_beside_a_user_core(tmp_path: Path) -> None:
    source = _tracked_copy(tmp_path / "source")
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", tmp_path / "dist",
         source)
    wheel = next((tmp_path / "dist").glob("tape_studio-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"tape_studio"}
    for folder in ("core", "studio", "pages"):
        for module in (ROOT / folder).rglob("*.py"):
            assert f"tape_studio/{module.relative_to(ROOT).as_posix()}" in names, f"the wheel lacks {module}"
    assert any(name.startswith("tape_studio/demo_tapes/") and name.endswith(".json") for name in names)
    python = _fresh_venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "--no-deps", wheel)
    _check_install(python, _user_project(tmp_path / "project"), tmp_path)


@pytest.mark.skipif(not os.access(ROOT, os.W_OK), reason="an editable install writes build files into the checkout")
def test_editable_install_beside_a_user_core(tmp_path: Path) -> None:
    python = _fresh_venv(tmp_path / "venv")
    _run(python, "-m", "pip", "install", "--no-deps", "--no-build-isolation", "-e", ROOT)
    _check_install(python, _user_project(tmp_path / "project"), tmp_path)
