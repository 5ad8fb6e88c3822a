import pytest

from tape_studio.core.errors import ConfigError
from tape_studio.core.nodes import Answer, ChooseTool, Delegate, ParseError, View, Write, node_type, read_json_object
from tape_studio.core.tools import Tool
from tape_studio.core.spec import Example, NodeSpec, PromptComponents
from tape_studio.core.tape import CallAgent, ErrorStep, FinalAnswer, StepBase, StepMetadata, Tape, Task, Thought, ToolCall, ToolResult

TOOLS = {
    "lookup": Tool.from_function(lambda query: query, name="lookup", description="Finds a fact in the knowledge base.",
                                 parameter_docs={"query": "what to look up"}),
    "calculate": Tool.from_function(lambda expression: expression, name="calculate", description="Evaluates arithmetic.",
                                    parameter_docs={"expression": "e.g. 2+2"}),
}
ONE_TOOL = {"lookup": TOOLS["lookup"]}

ACT = NodeSpec(name="act", type="choose_tool", tools=("lookup", "calculate"))
ANSWER = NodeSpec(name="answer", type="answer")
DRAFT = NodeSpec(name="draft", type="write")
FINAL = NodeSpec(name="final", type="write", settings={"emits": "final_answer"})


def bodies(steps: list[StepBase]) -> list[dict[str, object]]:
    return [step.body() for step in steps]


def qa_view() -> View:
    tape = Tape(steps=(
        Task(text="capital of France?"),
        Thought(text="Look it up.", metadata=StepMetadata(agent="qa")),
        ToolCall(tool="lookup", arguments={"query": "France"}, metadata=StepMetadata(agent="qa")),
        ToolResult(tool="lookup", content="France: capital Paris."),
        ErrorStep(source="parse", message="bad JSON", metadata=StepMetadata(agent="qa")),
    ))
    return View(tape=tape, agent="qa", task="capital of France?", indices=[0, 1, 2, 3, 4])


# --- reading JSON from model output --------------------------------------------------------


def test_read_json_object_reads_a_plain_object() -> None:
    assert read_json_object('{"answer": "Paris"}') == {"answer": "Paris"}


def test_read_json_object_repairs_a_truncated_string() -> None:
    assert read_json_object('{"thought": "look", "input": "Fra') == {"thought": "look", "input": "Fra"}


def test_read_json_object_repairs_a_missing_closing_brace() -> None:
    assert read_json_object('{"answer": "Paris"') == {"answer": "Paris"}


def test_read_json_object_skips_leading_prose_and_trailing_text() -> None:
    assert read_json_object('Sure! Here it is: {"answer": "Paris"} Hope this helps.') == {"answer": "Paris"}


def test_read_json_object_falls_back_to_string_fields() -> None:
    # A missing comma breaks json.loads; the fields are still readable.
    assert read_json_object('{"tool": "lookup" "input": "France"}') == {"tool": "lookup", "input": "France"}


def test_read_json_object_rejects_prose() -> None:
    with pytest.raises(ParseError, match="expected a JSON object"):
        read_json_object("The capital of France is Paris.")


def test_read_json_object_rejects_a_brace_without_fields() -> None:
    with pytest.raises(ParseError):
        read_json_object("{ the answer is Paris")


# --- choose_tool ---------------------------------------------------------------------------


def test_choose_tool_maps_input_to_the_tools_main_parameter() -> None:
    steps = ChooseTool().parse(ACT, '{"thought": "Add.", "tool": "calculate", "input": "2+2"}', TOOLS)
    assert bodies(steps) == [
        {"kind": "thought", "text": "Add."},
        {"kind": "tool_call", "tool": "calculate", "arguments": {"expression": "2+2"}},
    ]


def test_choose_tool_reads_the_tool_name_case_insensitively() -> None:
    steps = ChooseTool().parse(ACT, '{"thought": "t", "tool": "Lookup", "input": "France"}', TOOLS)
    assert isinstance(steps[1], ToolCall) and steps[1].tool == "lookup"


def test_choose_tool_rejects_an_unknown_tool_when_there_are_several() -> None:
    with pytest.raises(ParseError, match="'search'"):
        ChooseTool().parse(ACT, '{"thought": "t", "tool": "search", "input": "France"}', TOOLS)


def test_choose_tool_uses_the_only_tool_whatever_was_named() -> None:
    steps = ChooseTool().parse(ACT, '{"thought": "t", "tool": "search", "input": "France"}', ONE_TOOL)
    assert steps[1].body() == {"kind": "tool_call", "tool": "lookup", "arguments": {"query": "France"}}


def test_choose_tool_defaults_the_thought() -> None:
    steps = ChooseTool().parse(ACT, '{"tool": "lookup", "input": "France"}', TOOLS)
    assert steps[0].body() == {"kind": "thought", "text": "I will use lookup."}


def test_choose_tool_rejects_a_call_without_input() -> None:
    with pytest.raises(ParseError, match="no input"):
        ChooseTool().parse(ACT, '{"thought": "t", "tool": "lookup"}', TOOLS)


def test_choose_tool_schema_offers_exactly_the_nodes_tools() -> None:
    schema = ChooseTool().response_format(ACT, View(tape=Tape(), agent="a", task="t"), TOOLS)["json_schema"]["schema"]  # type: ignore[index]
    assert schema["properties"]["tool"]["enum"] == ["lookup", "calculate"]  # type: ignore[index]


# --- answer and write ----------------------------------------------------------------------


def test_answer_reads_json() -> None:
    assert bodies(Answer().parse(ANSWER, '{"answer": "Paris"}', {})) == [{"kind": "final_answer", "text": "Paris"}]


def test_answer_accepts_plain_text() -> None:
    assert bodies(Answer().parse(ANSWER, "  Paris \n", {})) == [{"kind": "final_answer", "text": "Paris"}]


@pytest.mark.parametrize("output", ["", "   ", '{"answer": ""}'])
def test_answer_rejects_an_empty_answer(output: str) -> None:
    with pytest.raises(ParseError):
        Answer().parse(ANSWER, output, {})


def test_write_emits_a_thought_by_default() -> None:
    assert bodies(Write().parse(DRAFT, "A first draft.", {})) == [{"kind": "thought", "text": "A first draft."}]


def test_write_emits_a_final_answer_when_configured() -> None:
    assert bodies(Write().parse(FINAL, "The poem.", {})) == [{"kind": "final_answer", "text": "The poem."}]


def test_write_rejects_empty_output() -> None:
    with pytest.raises(ParseError):
        Write().parse(DRAFT, " \n", {})


@pytest.mark.parametrize(
    ("node", "steps"),
    [
        (ACT, [Thought(text='Say "hi".'), ToolCall(tool="calculate", arguments={"expression": "2+2"})]),
        (ANSWER, [FinalAnswer(text="Paris, France")]),
        (DRAFT, [Thought(text="A draft\nover two lines.")]),
        (FINAL, [FinalAnswer(text="The poem.")]),
    ],
    ids=lambda value: value.name if isinstance(value, NodeSpec) else "",
)
def test_parse_reads_back_what_render_wrote(node: NodeSpec, steps: list[StepBase]) -> None:
    kind = node_type(node)
    assert bodies(kind.parse(node, kind.render(node, steps, TOOLS), TOOLS)) == bodies(steps)


# --- prompts -------------------------------------------------------------------------------


PROMPTED = NodeSpec(
    name="act",
    type="choose_tool",
    prompt=PromptComponents(
        instruction="Pick one tool.",
        rules=("One tool per turn.", "Never guess."),
        examples=(Example(input="2+2?", output='{"tool": "calculate", "input": "2+2"}'),),
        input_template="Task: {task}\nSeen: {observations}",
        output_format='Reply as {"thought", "tool", "input"}.',
    ),
)


def test_make_prompt_puts_instruction_rules_tools_and_format_in_the_system_message() -> None:
    system = ChooseTool().make_prompt(PROMPTED, qa_view(), TOOLS).messages[0]
    assert system == {"role": "system", "content": (
        "Pick one tool.\n\n"
        "Rules:\n- One tool per turn.\n- Never guess.\n\n"
        "Tools:\n- lookup(query): Finds a fact in the knowledge base.\n- calculate(expression): Evaluates arithmetic.\n\n"
        'Reply as {"thought", "tool", "input"}.'
    )}


def test_make_prompt_gives_examples_as_user_assistant_pairs() -> None:
    messages = ChooseTool().make_prompt(PROMPTED, qa_view(), TOOLS).messages
    assert messages[1:3] == [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": '{"tool": "calculate", "input": "2+2"}'},
    ]


def test_make_prompt_ends_with_the_template_filled_from_the_view() -> None:
    last = ChooseTool().make_prompt(PROMPTED, qa_view(), TOOLS).messages[-1]
    assert last == {"role": "user", "content": "Task: capital of France?\nSeen: France: capital Paris."}


def test_history_lists_steps_after_the_task_without_errors() -> None:
    node = NodeSpec(name="n", type="write", prompt=PromptComponents(input_template="{history}"))
    assert Write().render_input(node, qa_view()) == (
        "thought: Look it up.\ntool_call: lookup(query='France')\ntool_result: lookup → France: capital Paris.")


def test_unknown_template_field_raises_config_error() -> None:
    node = NodeSpec(name="n", type="write", prompt=PromptComponents(input_template="{task} {mood}"))
    with pytest.raises(ConfigError, match="mood"):
        Write().make_prompt(node, qa_view(), {})


def test_delegate_calls_the_configured_agent_with_the_rendered_task() -> None:
    node = NodeSpec(name="ask", type="delegate", settings={"agent": "writer"},
                    prompt=PromptComponents(input_template="Write about: {task}"))
    steps = Delegate().rule_steps(node, qa_view())
    assert bodies(steps) == [CallAgent(agent="writer", task="Write about: capital of France?").body()]


def test_unknown_node_type_raises_config_error() -> None:
    with pytest.raises(ConfigError, match="'plan'"):
        node_type(NodeSpec(name="n", type="plan"))
