"""Tape Studio: agent sessions as tapes that are also their resumable state.

`import tape_studio` is the public API; everything else is reached through it or through the
`tape_studio.core` modules it names. The repository's folders (core/, studio/, pages/, demo_tapes/)
install as `tape_studio.core`, `tape_studio.studio`, `tape_studio.pages` and `tape_studio.demo_tapes`.
"""

from tape_studio.core.loop import run
from tape_studio.core.spec import AgentSpec, Edge, Example, NodeSpec, PromptComponents
from tape_studio.core.nodes import NodeType
from tape_studio.core.tape import StepBase, StepMetadata, Tape, TapeMetadata, fork_tape
from tape_studio.core.workspace import Workspace

__all__ = [
    "AgentSpec", "Edge", "Example", "NodeSpec", "NodeType", "PromptComponents",
    "StepBase", "StepMetadata", "Tape", "TapeMetadata", "Workspace", "fork_tape", "run",
]
