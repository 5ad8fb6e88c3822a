"""Sources of agents: the files, modules and packages whose tools, node types, step kinds, metrics
and agents this process loads. The built-in agents are one source (`builtin`) among the others.

A source is a Python file (`my_agent.py`) or an importable module (`my_pkg.agents`). Loading it
runs it once: its decorators register what it defines, and every module-level AgentSpec becomes
an agent. Sources are found, in this order: the built-in one; `agents = [...]` in the
`[tool.tape-studio]` table of the nearest pyproject.toml; installed packages' `tape_studio` entry
points; `TAPE_STUDIO_AGENTS` (paths or modules separated by commas or the path separator); and
whatever `--agents` (or `load_agents`) names.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import os
import sys
import threading
import tomllib
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tape_studio.core.catalog import register_agent
from tape_studio.core.errors import InputError
from tape_studio.core.registry import BUILTIN, loading_source, module_label
from tape_studio.core.spec import AgentSpec

AGENTS_ENV = "TAPE_STUDIO_AGENTS"
ENTRY_POINT_GROUP = "tape_studio"
BUILTIN_MODULE = "tape_studio.core.agents"


@dataclass(frozen=True)
class Source:
    """One loaded source: how it was named, the label things it defines carry, what it found."""

    ref: str
    """What to pass to `--agents` to load it again (an absolute path, or a module name)."""
    label: str
    origin: str
    """How it was found: builtin, argument, environment, pyproject, entry point."""
    agents: tuple[str, ...]


_loaded: dict[str, Source] = {}
_lock = threading.RLock()
_configured = False


def load_agents(*refs: str, origin: str = "argument") -> list[Source]:
    """Loads each source (a .py file or a module) once; loading one again is a no-op."""
    ensure_configured()
    return [load_source(ref, origin) for ref in refs]


def ensure_configured() -> None:
    """Loads the built-in source and every configured one. The built-in source, pyproject.toml and
    entry points are read once per process; TAPE_STUDIO_AGENTS each time (a source named there
    since is loaded, one loaded before is not loaded again)."""
    global _configured
    with _lock:
        if not _configured:
            _configured = True
            load_source(BUILTIN_MODULE, "builtin")
            for ref in _pyproject_refs(Path.cwd()):
                load_source(ref, "pyproject")
            for module in _entry_point_modules():
                load_source(module, "entry point")
        for ref in _env_refs():
            load_source(ref, "environment")


def loaded_sources() -> list[Source]:
    with _lock:
        return list(_loaded.values())


def source_refs() -> list[str]:
    """Refs of every loaded source but the built-in one: what another process (the studio, a Ray
    worker) loads to know the same agents."""
    return [source.ref for source in loaded_sources() if source.label != BUILTIN]


def load_source(ref: str, origin: str = "argument") -> Source:
    ref = ref.strip()
    if not ref:
        raise InputError("an agents source is empty: give a .py file or a module name")
    key = _key(ref)
    with _lock:
        if key in _loaded:
            return _loaded[key]
        if _is_path(ref):
            path = Path(ref).expanduser().resolve()
            label = str(path)
            module = _import_file(path, label)
        else:
            label = module_label(ref)
            module = _import_module(ref, label)
        agents = tuple(sorted(_register_agents(module, label)))
        source = Source(ref=label if label != BUILTIN else ref, label=label, origin=origin, agents=agents)
        _loaded[key] = source
        return source


def _key(ref: str) -> str:
    return str(Path(ref).expanduser().resolve()) if _is_path(ref) else ref


def _is_path(ref: str) -> bool:
    return ref.endswith(".py") or os.sep in ref or "/" in ref


def _register_agents(module: ModuleType, label: str) -> list[str]:
    names = []
    for value in list(vars(module).values()):
        if isinstance(value, AgentSpec):
            register_agent(value, label)
            names.append(value.name)
    return names


def _import_file(path: Path, label: str) -> ModuleType:
    if not path.is_file():
        raise InputError(f"{path}: no such agents file")
    # A stable, private module name per file: two files named agent.py do not collide.
    name = f"tape_studio_user.{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:8]}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise InputError(f"{path}: cannot be loaded as Python")
    module = importlib.util.module_from_spec(spec)
    # Its folder goes on the path, so the file may import the modules beside it.
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.append(folder)
    sys.modules[name] = module  # pydantic resolves a class's annotations through its module
    with loading_source(label):
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            raise InputError(_load_failure(str(path), exc)) from None
    return module


def _import_module(name: str, label: str) -> ModuleType:
    with loading_source(label):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                raise InputError(f"agents source {name!r}: no such module (and no such .py file)") from None
            raise InputError(_load_failure(name, exc)) from None
        except Exception as exc:
            raise InputError(_load_failure(name, exc)) from None


def _load_failure(where: str, exc: Exception) -> str:
    """`file.py:12: NameError: ...`: the deepest line of the user's own code that failed."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
              if "importlib" not in frame.filename and not frame.filename.startswith("<frozen")]
    location = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else where
    first = str(exc).splitlines()[0] if str(exc) else ""
    if isinstance(exc, SyntaxError) and exc.filename:  # raised while compiling: no frame of the file ran
        location, first = f"{exc.filename}:{exc.lineno}", exc.msg
    return f"{location}: {type(exc).__name__}: {first}" if first else f"{location}: {type(exc).__name__}"


def _env_refs() -> list[str]:
    raw = os.environ.get(AGENTS_ENV, "")
    parts = raw.replace(os.pathsep, ",").split(",")
    return [part.strip() for part in parts if part.strip()]


def _pyproject_refs(start: Path) -> list[str]:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            try:
                table = tomllib.loads(candidate.read_text(encoding="utf-8")).get("tool", {}).get("tape-studio", {})
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise InputError(f"{candidate}: cannot read [tool.tape-studio]: {exc}") from None
            refs = table.get("agents", []) if isinstance(table, dict) else []
            if not isinstance(refs, list) or not all(isinstance(ref, str) for ref in refs):
                raise InputError(f"{candidate}: [tool.tape-studio] agents must be a list of files or modules")
            return [str(folder / ref) if _is_path(ref) else ref for ref in refs]
    return []


def _entry_point_modules() -> list[str]:
    modules = {point.module for point in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(modules)
