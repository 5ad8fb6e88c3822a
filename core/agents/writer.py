"""The `writer` agent: a draft node, then an edit node that turns the draft into the answer."""

from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents

DRAFT = NodeSpec(
    name="draft",
    type="write",
    description="Writes a short first draft for the request.",
    max_tokens=120,
    params={"frequency_penalty": 0.8},  # without it the embedded model loops on one phrase
    prompt=PromptComponents(
        instruction="Write a short first draft, two or three sentences, for the request.",
        input_template="Request: {task}",
    ),
)

EDIT = NodeSpec(
    name="edit",
    type="write",
    description="Improves the draft and returns the final text.",
    max_tokens=160,
    params={"frequency_penalty": 0.8},
    settings={"emits": "final_answer"},
    prompt=PromptComponents(
        instruction="Improve the draft: fix mistakes and make it clear and concise.",
        rules=("Reply with the improved text only.",),
        input_template="Request: {task}\nDraft: {last_text}",
    ),
)

WRITER = AgentSpec(
    name="writer",
    description="Drafts a short text for a request, then edits it.",
    nodes=(DRAFT, EDIT),
    edges=(Edge(source="draft", target="edit"),),
    entry="draft",
    example_task="A two-line poem about rivers",
)
