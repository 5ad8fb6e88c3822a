"""Agent symbolic learning: train an agent's prompts, tools and graph with language in place of numbers.

One update step: forward (run the spec on a minibatch → tapes) → loss (score + feedback) →
backward (textual gradients, last node visit to first) → optimizers (proposed changes, checked by
guards) → candidate spec → gate (paired rerun, then validation) → the next spec. Every record is a
step on a tape in the store; `trainer.py` strings the stages together and resumes after a crash.
"""
