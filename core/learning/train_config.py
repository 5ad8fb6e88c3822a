"""What a training run was asked to do; stored with the run so that resume does exactly the same."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from tape_studio.core.learning.datasets import MetricName
from tape_studio.core.learning.gate import GatePolicy

OptimizerName = Literal["demos", "prompt", "tool", "pipeline"]
OPTIMIZERS: tuple[OptimizerName, ...] = ("demos", "prompt", "tool", "pipeline")


class TrainConfig(BaseModel):
    """Settings of one run. Model and dataset are recorded as given, so a resume cannot drift."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    agent: str
    """A built-in agent, a stored spec id, or NAME@SPEC_ID: the version training starts from."""
    dataset: str
    epochs: int = Field(default=2, ge=1, le=1000)
    batch_size: int = Field(default=8, ge=1, le=1000)
    """Minibatch size: a gate on fewer examples is mostly ties."""
    workers: int = Field(default=2, ge=1, le=64)
    """Threads for forward passes, judge, backward and optimizer calls."""
    policy: GatePolicy = "minibatch+val"
    seed: int = 0
    """Orders the minibatches of each epoch; the same seed gives the same run."""
    optimizers: tuple[OptimizerName, ...] = ("demos", "prompt", "tool")
    metric: MetricName | None = None
    """None: the dataset's own metric."""
    model: str = ""
    """The agent's model; empty: the workspace's default."""
    optimizer_model: str | None = None
    """Model for the learning roles (judge, backward, optimizers); None: the agent's model."""
    max_llm_calls: int | None = Field(default=None, ge=1)
    max_cost: float | None = Field(default=None, gt=0)
    token_cap: int = Field(default=200, ge=20)
    """Aggregated gradients above this many (estimated) tokens are summarised."""
    max_growth: float = Field(default=1.5, ge=1.0)
    """A prompt may grow to this multiple of its length in the starting version (against bloat)."""
    skip_solved: bool = True
    evaluate_test: bool = True
    """Score the starting and the best version on the test split at the end (reported, never used to choose)."""
