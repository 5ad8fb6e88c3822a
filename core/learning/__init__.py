"""Agent symbolic learning: train an agent's prompts, tools and graph with language in place of numbers.

One update step: forward (run the spec on a minibatch → tapes) → loss (score + feedback) →
backward (textual gradients, last node visit to first) → optimizers (proposed changes, checked by
guards) → candidate spec → gate (paired rerun, then validation) → the next spec. Every record is a
step on a tape in the store; `trainer.py` strings the stages together and resumes after a crash.
"""

# Registers the record step kinds whenever any part of core.learning is imported.
from tape_studio.core.learning import steps as _steps  # noqa: E402, F401
