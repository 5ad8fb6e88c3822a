"""The paired bootstrap interval of the mean delta."""

from __future__ import annotations

from tape_studio.core.experiments.stats import paired_bootstrap


def test_same_deltas_give_the_same_interval_and_it_holds_the_mean() -> None:
    deltas = [1.0, 0.0, 0.0, -1.0, 1.0, 1.0, 0.0, 0.5]
    first, again = paired_bootstrap(deltas, resamples=2000), paired_bootstrap(deltas, resamples=2000)
    assert first == again
    assert first.low <= first.mean <= first.high and first.low < first.high
    assert first.mean == round(sum(deltas) / len(deltas), 4) and first.n == 8


def test_a_constant_delta_has_no_spread_and_no_tapes_give_zero() -> None:
    constant = paired_bootstrap([0.25] * 5, resamples=500)
    assert (constant.low, constant.mean, constant.high) == (0.25, 0.25, 0.25)
    assert paired_bootstrap([]).n == 0


def test_a_wider_level_gives_a_wider_interval() -> None:
    deltas = [1.0, 0.0, -1.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, -1.0]
    narrow, wide = paired_bootstrap(deltas, level=0.5), paired_bootstrap(deltas, level=0.95)
    assert wide.low <= narrow.low and narrow.high <= wide.high
