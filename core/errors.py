"""Our own faults and bad input raise these; faults of models and tools become steps instead."""


class TapeStudioError(Exception):
    """Base class: the CLI prints its message as the one-line reason and exits non-zero."""


class InputError(TapeStudioError, ValueError):
    """Bad input from a user or a file; the message names where (file, field, step)."""


class NotFoundError(TapeStudioError, KeyError):
    """A tape, spec, agent or call that does not exist."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ReplayMissError(TapeStudioError):
    """Replay mode met a prompt that was never recorded."""


class ConfigError(TapeStudioError):
    """A misconfigured agent, node or model setting."""
