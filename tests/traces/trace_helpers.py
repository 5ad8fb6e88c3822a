"""Small helpers shared by the trace tests."""

from __future__ import annotations

from tape_studio.core.store import Store
from tape_studio.core.tape import Tape

KEY = "sk-test-0123456789-never-stored"
"""The API key the tests put in the environment, as a user's would be; it must never be stored."""
WEATHER = {"type": "function", "function": {"name": "weather", "description": "Weather of a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def kinds(tape: Tape) -> list[str]:
    return [step.kind for step in tape.steps]


def only_tape(store: Store) -> Tape:
    rows = store.list_tapes()
    assert len(rows) == 1, [row.title for row in rows]
    return store.load_tape(rows[0].id)


def store_bytes(store: Store) -> bytes:
    """Every byte the store wrote (its file, WAL included), for secret scans."""
    return b"".join(p.read_bytes() for p in store.path.parent.glob(store.path.name + "*"))
