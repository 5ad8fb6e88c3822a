"""The uncertainty of an experiment's effect: a paired bootstrap over the per-tape score deltas.

Pure functions with a seeded generator, so the same deltas always give the same interval.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict


class Interval(BaseModel):
    """The mean of the deltas and its bootstrap interval at `level`."""

    model_config = ConfigDict(frozen=True)

    mean: float
    low: float
    high: float
    level: float
    n: int


def paired_bootstrap(deltas: Sequence[float], resamples: int = 10_000, level: float = 0.90, seed: int = 0) -> Interval:
    """Resamples tapes with replacement and takes the mean delta each time; the interval is the
    central `level` share of those means. The pairing is in the deltas: each is fork minus its own original."""
    n = len(deltas)
    if n == 0:
        return Interval(mean=0.0, low=0.0, high=0.0, level=level, n=0)
    mean = sum(deltas) / n
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(deltas, k=n)) / n for _ in range(resamples))
    tail = (1.0 - level) / 2
    low = means[int(tail * (resamples - 1))]
    high = means[int((1.0 - tail) * (resamples - 1))]
    return Interval(mean=round(mean, 4), low=round(low, 4), high=round(high, 4), level=level, n=n)
