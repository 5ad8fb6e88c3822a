"""Two versions of a run compared on one split: the score delta with a paired bootstrap interval,
and the examples that flipped. Read from the stored forward tapes, so any two versions a run
scored on a split can be compared after the fact, with no model call.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict

from tape_studio.core.learning.forward import forward_tape_id
from tape_studio.core.store import Store

RESAMPLES = 10_000
LEVEL = 0.90


class Comparison(BaseModel):
    """Version b minus version a on the same examples of one split."""

    model_config = ConfigDict(frozen=True)

    split: str
    a: str
    b: str
    n: int
    a_score: float
    b_score: float
    delta: float
    low: float
    """The 5th percentile of the resampled deltas (90% interval)."""
    high: float
    fixed: tuple[str, ...] = ()
    """Examples b gets right (score 1) that a got wrong."""
    broken: tuple[str, ...] = ()
    """Examples a got right that b gets wrong."""
    changed: tuple[str, ...] = ()
    """Other examples whose score moved (partial credit)."""

    def sentence(self) -> str:
        """One line a person reads: 'test 0.44 → 0.56 (+0.12, 90% CI +0.05 … +0.19; 12 fixed, 3 broken)'."""
        return (f"{self.split} {self.a_score:.2f} → {self.b_score:.2f} ({self.delta:+.2f}, 90% CI {self.low:+.2f} … "
                f"{self.high:+.2f}; {len(self.fixed)} fixed, {len(self.broken)} broken, n={self.n})")


def paired_bootstrap(a: Sequence[float], b: Sequence[float], resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float, float]:
    """Mean of b - a and its 90% percentile interval, resampling example indices with replacement."""
    if len(a) != len(b) or not a:
        raise ValueError("a paired bootstrap needs two equally long, non-empty score lists")
    diffs = [y - x for x, y in zip(a, b, strict=True)]
    n = len(diffs)
    rng = random.Random(seed)
    means = sorted(sum(diffs[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    tail = (1 - LEVEL) / 2
    low, high = means[int(tail * resamples)], means[min(resamples - 1, int((1 - tail) * resamples))]
    return round(sum(diffs) / n, 4), round(low, 4), round(high, 4)


def compare_scores(split: str, a_id: str, b_id: str, a: dict[str, float], b: dict[str, float]) -> Comparison:
    ids = sorted(set(a) & set(b))
    delta, low, high = paired_bootstrap([a[i] for i in ids], [b[i] for i in ids])
    return Comparison(
        split=split, a=a_id, b=b_id, n=len(ids), a_score=round(sum(a[i] for i in ids) / len(ids), 4),
        b_score=round(sum(b[i] for i in ids) / len(ids), 4), delta=delta, low=low, high=high,
        fixed=tuple(i for i in ids if b[i] >= 1.0 > a[i]), broken=tuple(i for i in ids if a[i] >= 1.0 > b[i]),
        changed=tuple(i for i in ids if a[i] != b[i] and not (a[i] >= 1.0 or b[i] >= 1.0)))


def stored_scores(store: Store, run_id: str, spec_id: str, split: str, example_ids: Sequence[str]) -> dict[str, float]:
    """Scores of `spec_id`'s evaluation tapes in this run (found by their derived ids); missing ones are left out."""
    ids = {forward_tape_id(run_id, spec_id, split, e): e for e in example_ids}
    marks = ",".join("?" * len(ids))
    rows = store.query(f"SELECT id, score FROM tapes WHERE id IN ({marks}) AND score IS NOT NULL", tuple(ids))
    return {ids[row["id"]]: float(row["score"]) for row in rows}


def compare_versions(
    store: Store, run_id: str, a_id: str, b_id: str, split: str, example_ids: Sequence[str]
) -> Comparison | None:
    """The comparison on `split`, or None unless both versions were scored on every example of it."""
    a = stored_scores(store, run_id, a_id, split, example_ids)
    b = stored_scores(store, run_id, b_id, split, example_ids)
    if not example_ids or len(a) < len(example_ids) or len(b) < len(example_ids):
        return None
    return compare_scores(split, a_id, b_id, a, b)


FlipKind = Literal["fixed", "broken", "changed"]


class Flip(BaseModel):
    """One example whose score moved between the two versions, with both forward tapes."""

    model_config = ConfigDict(frozen=True)

    example_id: str
    change: FlipKind
    """`fixed` (b right, a wrong), `broken` (a right, b wrong) or `changed` (partial credit moved)."""
    question: str
    a_score: float | None
    """None when the tape's score is not in the store (a run file from an older version carries none)."""
    b_score: float | None
    a_tape: str
    b_tape: str


def flips(store: Store, run_id: str, comparison: Comparison) -> list[Flip]:
    """The comparison's flipped examples, fixed first, each with its two tapes and the question asked."""
    moved: list[tuple[str, FlipKind]] = [
        *((e, "fixed") for e in comparison.fixed), *((e, "broken") for e in comparison.broken),
        *((e, "changed") for e in comparison.changed)]
    if not moved:
        return []
    tapes = {e: (forward_tape_id(run_id, comparison.a, comparison.split, e),
                 forward_tape_id(run_id, comparison.b, comparison.split, e)) for e, _ in moved}
    ids = [tape for pair in tapes.values() for tape in pair]
    rows = store.query(f"SELECT id, title, score FROM tapes WHERE id IN ({','.join('?' * len(ids))})", tuple(ids))
    found = {row["id"]: row for row in rows}

    def score(tape_id: str) -> float | None:
        value = found[tape_id]["score"] if tape_id in found else None
        return None if value is None else float(value)

    flipped = []
    for example, change in moved:
        a, b = tapes[example]
        flipped.append(Flip(example_id=example, change=change, question=found[a]["title"] if a in found else "",
                            a_score=score(a), b_score=score(b), a_tape=a, b_tape=b))
    return flipped


def compare_on_splits(
    store: Store, run_id: str, a_id: str, b_id: str, splits: dict[str, Sequence[str]]
) -> dict[str, Comparison | None]:
    """The comparison on each split (example ids per split); None where either version was not scored on all of it."""
    return {split: compare_versions(store, run_id, a_id, b_id, split, ids) for split, ids in splits.items()}


def scored_examples(store: Store, run_id: str, spec_id: str, split: str) -> list[str]:
    """Examples of `split` that `spec_id` was scored on in this run, read from its stored tapes, so
    a run is compared on the examples it was measured on even after its dataset changed or moved."""
    rows = store.query(
        """SELECT id, json_extract(context, '$.example_id') AS example FROM tapes
           WHERE spec_id = ? AND score IS NOT NULL AND json_extract(context, '$.run_id') = ?
               AND json_extract(context, '$.split') = ?""", (spec_id, run_id, split))
    # A fork of a forward tape keeps its context: only the tape at the derived id is the measurement.
    return sorted(row["example"] for row in rows
                  if row["example"] and row["id"] == forward_tape_id(run_id, spec_id, split, row["example"]))
