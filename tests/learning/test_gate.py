"""Gate arithmetic, ties included: pure functions, plain asserts."""

import pytest

from tape_studio.core.learning.gate import decide, minibatch_verdict, paired_means, val_verdict

CURRENT = {"a": 0.0, "b": 1.0}


def test_policy_none_accepts_without_scores() -> None:
    assert decide("none", CURRENT).passed


def test_minibatch_needs_a_strictly_higher_mean() -> None:
    assert decide("minibatch", CURRENT, {"a": 1.0, "b": 1.0}).passed
    assert not decide("minibatch", CURRENT, {"a": 0.0, "b": 0.5}).passed


def test_a_tie_on_the_minibatch_keeps_the_current_spec() -> None:
    outcome = decide("minibatch", CURRENT, {"a": 1.0, "b": 0.0})  # same mean, other examples right
    assert not outcome.passed and "tie" in outcome.reason


def test_float_noise_is_a_tie_not_a_win() -> None:
    assert not minibatch_verdict({"a": 0.1, "b": 0.2}, {"a": 0.30000000000000004, "b": 0.0}).passed


def test_minibatch_plus_val_needs_both() -> None:
    better = {"a": 1.0, "b": 1.0}
    assert decide("minibatch+val", CURRENT, better, 0.5, 0.6).passed
    assert not decide("minibatch+val", CURRENT, better, 0.5, 0.4).passed
    assert not decide("minibatch+val", CURRENT, CURRENT, 0.5, 0.9).passed  # val cannot rescue a tie


def test_a_tie_on_validation_counts_as_not_worse() -> None:
    outcome = decide("minibatch+val", CURRENT, {"a": 1.0, "b": 1.0}, 0.5, 0.5)
    assert outcome.passed and "tie counts as not worse" in outcome.reason
    assert val_verdict(0.5, 0.5 - 1e-12).passed


def test_without_a_validation_split_the_minibatch_decides() -> None:
    outcome = decide("minibatch+val", CURRENT, {"a": 1.0, "b": 1.0})
    assert outcome.passed and "no validation split" in outcome.reason


def test_the_gate_only_compares_scores_on_the_same_examples() -> None:
    with pytest.raises(ValueError, match="same examples"):
        paired_means(CURRENT, {"a": 1.0, "c": 1.0})
    with pytest.raises(ValueError):
        decide("minibatch", CURRENT, None)


def test_paired_means_are_order_independent() -> None:
    assert paired_means({"b": 1.0, "a": 0.0}, {"a": 0.5, "b": 0.5}) == (0.5, 0.5)
