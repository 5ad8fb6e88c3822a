"""The `explainer` team: hands the question to the `qa` agent, then explains its answer.

It exists to show (and test) sub-agents: the qa agent's steps sit on the same tape, between the
call and its answer.
"""

from tape_studio.core.spec import AgentSpec, Edge, NodeSpec, PromptComponents

ASK = NodeSpec(
    name="ask",
    type="delegate",
    description="Asks the qa agent the question.",
    settings={"agent": "qa"},
    prompt=PromptComponents(input_template="{task}"),
)

EXPLAIN = NodeSpec(
    name="explain",
    type="write",
    description="Explains the answer in one sentence.",
    max_tokens=80,
    params={"frequency_penalty": 0.8},
    settings={"emits": "final_answer"},
    prompt=PromptComponents(
        instruction="Explain the answer to the question in one short sentence.",
        input_template="Question: {task}\nAnswer: {observations}",
    ),
)

EXPLAINER = AgentSpec(
    name="explainer",
    description="A team: asks the qa agent, then explains its answer in one sentence.",
    nodes=(ASK, EXPLAIN),
    edges=(Edge(source="ask", target="explain"),),
    entry="ask",
    example_task="What is the capital of Japan?",
)
