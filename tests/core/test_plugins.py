"""Sources of agents: a file, a module, TAPE_STUDIO_AGENTS, [tool.tape-studio] and entry points
all load through one mechanism, and every process that loads the same sources knows the same agents.

Each test that loads sources runs in a fresh interpreter, because loading registers for the
process's lifetime (as it does for a user)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tape_studio.core import plugins
from tape_studio.core.errors import InputError

AGENT_FILE = '''
from typing import ClassVar, Literal
import tape_studio as ts

@ts.tool
def shout(text: str, times: int = 1) -> str:
    """Shouts the text."""
    return (text.upper() + " ") * times

@ts.register_step
class {kind_class}(ts.StepBase):
    kind: Literal["{kind}"] = "{kind}"
    family: ClassVar = "thought"
    note: str

SHOUTER = ts.AgentSpec(name="{agent}", entry="a", nodes=(ts.NodeSpec(name="a", type="choose_tool", tools=("shout",)),))
'''


def agent_file(folder: Path, agent: str = "shouter", kind: str = "loud_thought", module: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module or agent}.py"
    path.write_text(AGENT_FILE.format(agent=agent, kind=kind, kind_class="LoudThought"))
    return path


def probe(code: str, cwd: Path, env: dict[str, str] | None = None) -> dict:
    """Runs `code` in a fresh interpreter that prints one JSON value last."""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, capture_output=True, text=True,
                            timeout=120, env={**os.environ, **(env or {})})
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


SUMMARY = """
    import json
    from tape_studio.core import plugins
    from tape_studio.core.catalog import AGENTS
    from tape_studio.core.tape import step_kind_source
    from tape_studio.core.tools import TOOLS
    plugins.load_agents(*{refs!r})
    print(json.dumps({{"agents": {{n: AGENTS.source(n) for n in AGENTS.names()}}, "shout": TOOLS.source("shout"),
                      "kind": step_kind_source("loud_thought"),
                      "sources": [[s.origin, s.label, list(s.agents)] for s in plugins.loaded_sources()]}}))
"""


def test_a_file_source_registers_its_agents_tools_and_kinds_under_its_path(tmp_path: Path) -> None:
    path = agent_file(tmp_path / "mine")
    found = probe(SUMMARY.format(refs=[str(path)]), cwd=tmp_path)
    assert found["agents"]["shouter"] == str(path)
    assert found["agents"]["qa"] == "builtin"  # the built-in source loads through the same mechanism
    assert found["shout"] == str(path) and found["kind"] == str(path)
    assert found["sources"][0] == ["builtin", "builtin", ["explainer", "qa", "writer"]]
    assert ["argument", str(path), ["shouter"]] in found["sources"]


def test_a_module_source_is_imported_by_name(tmp_path: Path) -> None:
    package = tmp_path / "my_pkg"
    agent_file(package, module="agents")
    (package / "__init__.py").write_text("")
    found = probe(SUMMARY.format(refs=["my_pkg.agents"]), cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert found["agents"]["shouter"] == "my_pkg.agents" and found["shout"] == "my_pkg.agents"


def test_the_environment_variable_names_sources(tmp_path: Path) -> None:
    one, two = agent_file(tmp_path / "a", "one", "kind_one"), agent_file(tmp_path / "b", "two", "kind_two")
    # Two files may not both define the tool `shout`: each source owns its names.
    two.write_text(two.read_text().replace("def shout", "def whisper").replace('"shout"', '"whisper"'))
    found = probe(SUMMARY.format(refs=[]), cwd=tmp_path, env={plugins.AGENTS_ENV: f"{one},{two}"})
    assert found["agents"]["one"] == str(one) and found["agents"]["two"] == str(two)
    assert all(origin == "environment" for origin, label, _ in found["sources"] if label != "builtin")


def test_the_nearest_pyproject_names_sources_relative_to_itself(tmp_path: Path) -> None:
    agent_file(tmp_path / "agents")
    (tmp_path / "pyproject.toml").write_text('[tool.tape-studio]\nagents = ["agents/shouter.py"]\n')
    (tmp_path / "deep" / "er").mkdir(parents=True)
    found = probe(SUMMARY.format(refs=[]), cwd=tmp_path / "deep" / "er")
    assert found["agents"]["shouter"] == str(tmp_path / "agents" / "shouter.py")


def test_installed_packages_declare_sources_with_an_entry_point(tmp_path: Path) -> None:
    site = tmp_path / "site"
    agent_file(site / "shout_pkg", module="plugin")
    (site / "shout_pkg" / "__init__.py").write_text("")
    info = site / "shout_pkg-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: shout-pkg\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[tape_studio]\nshouter = shout_pkg.plugin\n")
    found = probe(SUMMARY.format(refs=[]), cwd=tmp_path, env={"PYTHONPATH": str(site)})
    assert found["agents"]["shouter"] == "shout_pkg.plugin"
    assert ["entry point", "shout_pkg.plugin", ["shouter"]] in found["sources"]


def test_loading_a_source_twice_is_a_no_op(tmp_path: Path) -> None:
    path = agent_file(tmp_path)
    found = probe(SUMMARY.format(refs=[str(path), str(path), str(tmp_path / "." / "shouter.py")]), cwd=tmp_path)
    assert len([s for s in found["sources"] if s[1] == str(path)]) == 1


def test_a_file_may_import_the_modules_beside_it(tmp_path: Path) -> None:
    (tmp_path / "helpers.py").write_text("GREETING = 'hi'\n")
    (tmp_path / "main_agent.py").write_text("from helpers import GREETING\nimport tape_studio as ts\n"
                                            "A = ts.AgentSpec(name=GREETING, entry='x', nodes=(ts.NodeSpec(name='x', "
                                            "type='write'),))\n")
    found = probe(SUMMARY.format(refs=[str(tmp_path / "main_agent.py")]), cwd=tmp_path)
    assert "hi" in found["agents"]


@pytest.mark.parametrize(("content", "message"), [
    ("import not_a_module_anywhere\n", r"bad\.py:1: ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
    ("x = 1\nraise RuntimeError('boom')\n", r"bad\.py:2: RuntimeError: boom"),
    ("def broken(:\n", r"bad\.py:1: SyntaxError"),
])
def test_a_broken_file_is_one_line_naming_the_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    (tmp_path / "bad.py").write_text(content)
    with pytest.raises(InputError, match=message):
        plugins.load_source(str(tmp_path / "bad.py"))


def test_a_missing_file_or_module_says_so() -> None:
    with pytest.raises(InputError, match="no such agents file"):
        plugins.load_source("/nowhere/agent.py")
    with pytest.raises(InputError, match="'no_such_module_xyz': no such module"):
        plugins.load_source("no_such_module_xyz")
