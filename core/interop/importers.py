"""Import formats other than our own, TapeAgents' and OTLP: a registry, so user code can add one.

An importer says whether parsed file content is its format (`sniff`; a JSON Lines file arrives as
the list of its lines' values) and converts a whole file into a bundle and its fidelity report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tape_studio.core.interop.fidelity import FidelityReport
from tape_studio.core.interop.tape_files import Bundle
from tape_studio.core.registry import BUILTIN, Registry


@dataclass(frozen=True)
class Importer:
    name: str
    describes: str
    """What the format is, for the line that refuses a file no importer knows."""
    sniff: Callable[[Any], bool]
    read: Callable[[Path, Any], tuple[Bundle, FidelityReport]]


IMPORTERS: Registry[Importer] = Registry("import format")


def register_importer(importer: Importer, source: str = BUILTIN) -> Importer:
    return IMPORTERS.add(importer.name, importer, source)


def find_importer(data: Any) -> Importer | None:
    _load_builtin()
    return next((imp for _, imp in IMPORTERS.items() if imp.sniff(data)), None)


def described() -> list[str]:
    _load_builtin()
    return [imp.describes for _, imp in IMPORTERS.items()]


def _load_builtin() -> None:
    from tape_studio.core.interop import chat_logs, inspect_logs, langsmith  # noqa: F401  (they register themselves)
