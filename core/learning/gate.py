"""The gate: whether a candidate spec replaces the current one. Pure arithmetic, no models.

Policies: `none` accepts every candidate; `minibatch` needs a strictly higher mean on the same
minibatch (paired: both specs scored on the very same examples); `minibatch+val` (the default)
also needs the candidate to be no worse on validation. Ties are explicit: a tie on the minibatch
keeps the current spec (a change has to earn its place), a tie on validation passes ("not worse").
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

GatePolicy = Literal["none", "minibatch", "minibatch+val"]
POLICIES: tuple[GatePolicy, ...] = ("none", "minibatch", "minibatch+val")
TOLERANCE = 1e-9
"""Means closer than this are equal: float noise must not decide a gate."""


class GateOutcome(BaseModel):
    """The verdict and its reason, in words a person can audit."""

    model_config = ConfigDict(frozen=True)

    passed: bool
    reason: str


def paired_means(current: dict[str, float], candidate: dict[str, float]) -> tuple[float, float]:
    """Means over the same examples; scores of different example sets are never compared."""
    if set(current) != set(candidate) or not current:
        raise ValueError(f"a paired gate needs scores on the same examples: {sorted(current)} vs {sorted(candidate)}")
    ids = sorted(current)
    return sum(current[i] for i in ids) / len(ids), sum(candidate[i] for i in ids) / len(ids)


def minibatch_verdict(current: dict[str, float], candidate: dict[str, float]) -> GateOutcome:
    before, after = paired_means(current, candidate)
    if after > before + TOLERANCE:
        return GateOutcome(passed=True, reason=f"minibatch {before:.3f} → {after:.3f}")
    if abs(after - before) <= TOLERANCE:
        return GateOutcome(passed=False, reason=f"tie on the minibatch ({before:.3f}): keeps the current spec")
    return GateOutcome(passed=False, reason=f"worse on the minibatch: {before:.3f} → {after:.3f}")


def val_verdict(val_current: float, val_candidate: float) -> GateOutcome:
    if val_candidate >= val_current - TOLERANCE:
        tie = " (tie counts as not worse)" if abs(val_candidate - val_current) <= TOLERANCE else ""
        return GateOutcome(passed=True, reason=f"validation {val_current:.3f} → {val_candidate:.3f}{tie}")
    return GateOutcome(passed=False, reason=f"worse on validation: {val_current:.3f} → {val_candidate:.3f}")


def decide(
    policy: GatePolicy,
    current: dict[str, float],
    candidate: dict[str, float] | None = None,
    val_current: float | None = None,
    val_candidate: float | None = None,
) -> GateOutcome:
    """The gate's verdict; with `minibatch+val` and no validation scores, the minibatch decides."""
    if policy == "none":
        return GateOutcome(passed=True, reason="policy none: every valid candidate is accepted")
    if candidate is None:
        raise ValueError(f"policy {policy!r} needs the candidate's minibatch scores")
    minibatch = minibatch_verdict(current, candidate)
    if policy == "minibatch" or not minibatch.passed:
        return minibatch
    if val_current is None or val_candidate is None:
        return GateOutcome(passed=True, reason=f"{minibatch.reason}; no validation split to check")
    val = val_verdict(val_current, val_candidate)
    return GateOutcome(passed=val.passed, reason=f"{minibatch.reason}; {val.reason}")
