"""What-if experiments: one edit rule applied across many tapes, each fork rerun and scored
against its original, and the effect reported with its uncertainty."""

from tape_studio.core.experiments.model import Budget, Experiment, Selection, TapeRun
from tape_studio.core.experiments.report import ExperimentReport, build_report
from tape_studio.core.experiments.rules import SpecPatch, StepEdit, StepMatch, apply_rule, parse_rule
from tape_studio.core.experiments.runner import BatchPreview, create_experiment, preview_experiment, run_experiment
from tape_studio.core.experiments.scoring import Scoring, register_scorer

__all__ = [
    "BatchPreview", "Budget", "Experiment", "ExperimentReport", "Scoring", "Selection", "SpecPatch", "StepEdit",
    "StepMatch", "TapeRun", "apply_rule", "build_report", "create_experiment", "parse_rule", "preview_experiment",
    "register_scorer", "run_experiment",
]
