"""The store's full-text index over tape titles and step summaries (migrations 2 and 9).

A document in `search_fts` stands for a tape's title (`idx` = -1) or for a run of consecutive steps
(`idx` to `last_idx` in `search_docs`): their summaries joined by SEPARATOR. The store indexes
what it writes, in the same transaction: a step appended on its own gets a document of its own;
a bulk write (a saved tape, an import, a synced trace) indexes what it added in blocks of
BLOCK_STEPS steps, since the trigram index costs about as much per document as per character.
A search matches within one step's text either way: SEPARATOR is kept out of every indexed text
and every query, so no match can run from one step into the next. Triggers keep only what the
store does not write itself in one place: title changes and deleted tapes.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable

BLOCK_STEPS = 64
SEPARATOR = "\x1e"  # ASCII record separator; migration 9's triggers write it as char(30)


def indexable(text: str) -> str:
    """A title, summary or query as the index sees it (SEPARATOR read as a space)."""
    return text.replace(SEPARATOR, " ")


def text_match(text: str) -> tuple[str, str]:
    """An FTS condition (on `search_fts f`) for a substring: a quoted trigram phrase, or for
    fewer than three characters (no trigram to look up) a LIKE over the indexed texts."""
    text = indexable(text)
    if len(text) >= 3:
        return "search_fts MATCH ?", '"' + text.replace('"', '""') + '"'
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return "f.text LIKE ? ESCAPE '\\'", f"%{escaped}%"


def snippet(document: str, text: str, around: int) -> str:
    """The first text of a document (one title or step summary) holding `text`, cut to `around`
    characters each side of the match, on one line."""
    needle = indexable(text).lower()
    pieces = document.split(SEPARATOR)
    piece = next((p for p in pieces if needle in p.lower()), pieces[0])
    at = max(piece.lower().find(needle), 0)
    start, end = max(at - around, 0), at + len(needle) + around
    cut = " ".join(piece[start:end].split())  # newlines and tabs of step text become spaces
    return ("…" if start else "") + cut + ("…" if end < len(piece) else "")


def forget_steps(conn: sqlite3.Connection, tape_id: str, start: int) -> int:
    """Removes the documents of a tape's steps from `start` on and returns the first step index
    they covered: a block that began before `start` goes whole, and its earlier steps must be
    indexed again with the new ones."""
    docs = conn.execute("SELECT id, idx FROM search_docs WHERE tape_id = ? AND idx >= 0 AND last_idx >= ?",
                        (tape_id, start)).fetchall()
    ids = json.dumps([doc[0] for doc in docs])
    conn.execute("DELETE FROM search_fts WHERE rowid IN (SELECT value FROM json_each(?))", (ids,))
    conn.execute("DELETE FROM search_docs WHERE id IN (SELECT value FROM json_each(?))", (ids,))
    return min([start, *(doc[1] for doc in docs)])


def index_written(conn: sqlite3.Connection, new_tapes: Iterable[str], runs: Iterable[tuple[str, int, list[str]]]) -> None:
    """Inside the write transaction that stored them: the titles of tapes just made, and runs of
    steps just written, each (tape id, first index, the summaries of consecutive steps), indexed
    in documents of up to BLOCK_STEPS steps."""
    # Ids are given here, not by SQLite: the write transaction holds the store, and each tape's
    # documents are numbered title first, then steps in order, as searches rank them.
    next_id = conn.execute("SELECT COALESCE(MAX(id), 0) FROM search_docs").fetchone()[0] + 1
    docs: list[tuple[int, str, int, int]] = []
    texts: list[tuple[int, str]] = []
    new_tapes = list(dict.fromkeys(new_tapes))
    titles = conn.execute("SELECT t.id, t.title FROM json_each(?) j JOIN tapes t ON t.id = j.value ORDER BY j.key",
                          (json.dumps(new_tapes),)) if new_tapes else ()
    for tape_id, title in titles:
        docs.append((next_id, tape_id, -1, -1))
        texts.append((next_id, indexable(title)))
        next_id += 1
    for tape_id, first, summaries in runs:
        for start in range(0, len(summaries), BLOCK_STEPS):
            block = summaries[start:start + BLOCK_STEPS]
            docs.append((next_id, tape_id, first + start, first + start + len(block) - 1))
            texts.append((next_id, SEPARATOR.join([indexable(summary) for summary in block])))
            next_id += 1
    conn.executemany("INSERT INTO search_docs (id, tape_id, idx, last_idx) VALUES (?, ?, ?, ?)", docs)
    conn.executemany("INSERT INTO search_fts (rowid, text) VALUES (?, ?)", texts)


def stored_run(conn: sqlite3.Connection, tape_id: str, start: int) -> tuple[str, int, list[str]]:
    """A tape's stored steps from `start` on as a run for index_written."""
    rows = conn.execute("SELECT summary FROM steps WHERE tape_id = ? AND idx >= ? ORDER BY idx", (tape_id, start))
    return tape_id, start, [row[0] for row in rows]
