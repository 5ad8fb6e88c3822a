"""The `qa` agent: one node chooses a tool and its input, the next answers from the result.

A 135M model cannot plan; it can fill one small JSON form at a time. So the pipeline is fixed
(plan → tool → answer) and each prompt has one worked example, which such models follow best.
"""

from tape_studio.core.spec import AgentSpec, Edge, Example, NodeSpec, PromptComponents

PLAN = NodeSpec(
    name="plan",
    type="choose_tool",
    description="Chooses the tool and the input that will find what the question needs.",
    tools=("lookup", "calculator"),
    max_tokens=96,
    prompt=PromptComponents(
        instruction="You help answer a question by choosing one tool.",
        rules=(
            "Use lookup to find facts about countries, elements, planets or people.",
            "Use calculator for arithmetic and give it only the expression, like 12*7.",
            "The input is a few keywords, not a sentence.",
        ),
        examples=(
            Example(
                input="Question: What currency is used in Japan?",
                output='{"thought": "I need facts about Japan.", "tool": "lookup", "input": "Japan"}',
            ),
            Example(
                input="Question: What is 15 times 4?",
                output='{"thought": "This is arithmetic.", "tool": "calculator", "input": "15*4"}',
            ),
        ),
        input_template="Question: {task}",
        output_format='Reply with JSON: {"thought": "...", "tool": "lookup or calculator", "input": "..."}',
    ),
)

ANSWER = NodeSpec(
    name="answer",
    type="answer",
    description="Answers the question in a few words from the tool result.",
    max_tokens=48,
    prompt=PromptComponents(
        # Text before question, and an example of another kind of question: measured 6/6 on the
        # embedded model, where question-first prompts copied the example's answer.
        instruction="Read the text, then answer the question in a few words.",
        examples=(
            Example(
                input="Text: Spain: Spain is a country in Europe. Its capital is Madrid. Its currency is the euro.\n"
                "Question: What is the capital of Spain?",
                output='{"answer": "Madrid"}',
            ),
        ),
        input_template="Text: {observations}\nQuestion: {task}",
    ),
)

QA = AgentSpec(
    name="qa",
    description="Answers factual and arithmetic questions with a lookup tool and a calculator.",
    nodes=(PLAN, ANSWER),
    edges=(Edge(source="plan", target="answer"),),
    entry="plan",
    example_task="What is the capital of France?",
)
