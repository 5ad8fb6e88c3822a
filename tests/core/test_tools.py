import ast
import json
import re
from pathlib import Path

import pytest
from pydantic import ValidationError

import tape_studio.core.agents.tools as tools_module
from tape_studio.core.agents.tools import ToolError, calculate, lookup
from tape_studio.core.tools import TOOLS, ToolArgumentError

KB_PATH = Path(tools_module.__file__).parent / "data" / "kb.json"


def run(tool: str, **args: str) -> str:
    return TOOLS.get(tool).run(args)


# --- knowledge base --------------------------------------------------------------------------


def test_kb_entries_have_title_and_text() -> None:
    entries = json.loads(KB_PATH.read_text(encoding="utf-8"))
    assert isinstance(entries, list)
    assert 60 <= len(entries) <= 120
    for entry in entries:
        assert set(entry) == {"title", "text"}, entry
        assert entry["title"].strip() and entry["text"].strip(), entry
        sentences = re.findall(r"[.!?](?:\s|$)", entry["text"])
        assert 1 <= len(sentences) <= 3, entry["title"]


def test_kb_titles_are_unique() -> None:
    titles = [e["title"] for e in json.loads(KB_PATH.read_text(encoding="utf-8"))]
    assert len(titles) == len(set(titles))


# --- lookup ----------------------------------------------------------------------------------


def test_lookup_finds_capital_of_france() -> None:
    answer = run("lookup", query="capital of France")
    assert answer.startswith("France: ")
    assert "Paris" in answer


@pytest.mark.parametrize(
    ("query", "title", "fact"),
    [
        ("France", "France", "Paris"),
        ("What is the capital of Japan?", "Japan", "Tokyo"),
        ("Japan capital", "Japan", "Tokyo"),
        ("capital of Germany", "Germany", "Berlin"),
        ("atomic number of oxygen", "Oxygen", "8"),
        ("gold symbol", "Gold", "Au"),
        ("currency of Switzerland", "Switzerland", "franc"),
        ("capital of the USA", "United States", "Washington"),
        ("Who was Marie Curie?", "Marie Curie", "1867"),
        ("how many km in a mile", "Mile", "1.609344"),
        ("largest planet", "Jupiter", "largest"),
    ],
)
def test_lookup_answers_queries_a_small_model_would_write(query: str, title: str, fact: str) -> None:
    answer = lookup(query)
    assert answer.startswith(f"{title}: ")
    assert fact in answer


def test_lookup_prefixes_the_entry_text_with_its_title() -> None:
    entry = json.loads(KB_PATH.read_text(encoding="utf-8"))[0]
    assert lookup(entry["title"]) == f"{entry['title']}: {entry['text']}"


def test_lookup_weights_title_words_above_text_words() -> None:
    # "Paris" only occurs in France's text, but "Mercury" is a title on its own.
    assert lookup("Paris").startswith("France: ")
    assert lookup("planet Mercury").startswith("Mercury: ")
    assert lookup("mercury symbol").startswith("Mercury (element): ")


def test_lookup_folds_plurals_to_singular() -> None:
    assert lookup("how many moons does Mars have").startswith("Mars: ")
    assert lookup("inches in a foot").startswith("Inch and foot: ")


def test_lookup_ignores_case_and_punctuation() -> None:
    assert lookup("  CAPITAL -- of ... fRaNcE!!! ") == lookup("capital of France")


def test_lookup_breaks_ties_by_kb_order() -> None:
    # Every country's text says "capital", so the first country in the KB wins.
    first_country = json.loads(KB_PATH.read_text(encoding="utf-8"))[0]["title"]
    assert lookup("capital").startswith(f"{first_country}: ")


def test_lookup_is_deterministic() -> None:
    assert len({lookup("capital of Spain") for _ in range(5)}) == 1


@pytest.mark.parametrize("query", ["", "   ", "\n"])
def test_lookup_empty_query_is_an_error(query: str) -> None:
    with pytest.raises(ToolError, match="lookup: .*empty"):
        lookup(query)


def test_lookup_unknown_topic_is_an_error_naming_the_query() -> None:
    with pytest.raises(ToolError, match=r"lookup: nothing found for 'xyzzy plugh'"):
        lookup("xyzzy plugh")
    with pytest.raises(ToolError, match="nothing found"):
        lookup("what is the")  # nothing left once the filler words are gone


def test_lookup_tool_requires_a_query_argument() -> None:
    with pytest.raises(ToolArgumentError, match="lookup: argument 'query': Field required"):
        TOOLS.get("lookup").run({"q": "France"})


# --- calculator ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "result"),
    [("2 + 3", "5"), ("10 - 4", "6"), ("6 * 7", "42"), ("10 / 4", "2.5"), ("17 % 5", "2"), ("1.5 * 2", "3")],
)
def test_calculator_does_basic_arithmetic(expression: str, result: str) -> None:
    assert run("calculator", expression=expression) == result


def test_calculator_respects_precedence() -> None:
    assert calculate("1 + 2 * 3") == "7"
    assert calculate("(1 + 2) * 3") == "9"
    assert calculate("2 * 3 ** 2") == "18"
    assert calculate("10 - 4 - 3") == "3"  # left-associative
    assert calculate("100 / 10 / 5") == "2"


def test_calculator_power_is_right_associative_and_caret_means_power() -> None:
    assert calculate("2 ** 3 ** 2") == "512"
    assert calculate("2 ^ 3 ^ 2") == "512"
    assert calculate("2 ^ 10") == "1024"
    assert calculate("2 ** -1") == "0.5"


def test_calculator_handles_unary_signs() -> None:
    assert calculate("-3 + 5") == "2"
    assert calculate("--3") == "3"
    assert calculate("+4 * -2") == "-8"
    assert calculate("-2 ** 2") == "-4"  # as in Python and in maths notation
    assert calculate("-(2 + 3)") == "-5"


def test_calculator_reads_decimals_and_exponent_notation() -> None:
    assert calculate(".5 + 0.25") == "0.75"
    assert calculate("1e3 + 1") == "1001"
    assert calculate("2.5e-1") == "0.25"


def test_calculator_formats_integers_without_decimal_point() -> None:
    assert calculate("4 / 2") == "2"
    assert calculate("0.1 * 30") == "3"
    assert calculate("2 ** 64") == "18446744073709551616"


def test_calculator_rounds_floats_to_ten_significant_digits() -> None:
    assert calculate("1 / 3") == "0.3333333333"
    assert calculate("0.1 + 0.2") == "0.3"
    assert calculate("2 ** 0.5") == "1.414213562"
    assert calculate("22 / 7 * 1000") == "3142.857143"


def test_calculator_tolerates_leading_equals_and_trailing_question_mark() -> None:
    assert calculate("= 6 * 7") == "42"
    assert calculate("6 * 7?") == "42"
    assert calculate("=6*7 ?") == "42"


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('ls')",
        "2**10000",
        "1/0",
        "(1+2",
        "",
        "open('/etc/passwd').read()",
        "[1, 2]",
        "1 if 1 else 2",
        "lambda: 1",
        "2 // 3",
        "9 ** 9 ** 9",
        "1 +",
        "(1 + 2))",
        "2 (3)",
        "1.2.3",
    ],
)
def test_calculator_rejects_python_code(expression: str) -> None:
    with pytest.raises(ToolError, match="^calculator: "):
        calculate(expression)


def test_calculator_error_names_the_offending_character_and_position() -> None:
    with pytest.raises(ToolError, match=r"calculator: unexpected '\)' at position 8"):
        calculate("(1 + 2))")
    with pytest.raises(ToolError, match=r"calculator: unexpected '_' at position 1"):
        calculate("__import__('os')")
    with pytest.raises(ToolError, match=r"calculator: unexpected 'x' at position 3"):
        calculate("2 x 3")
    # Positions count from the text as written, even when a leading "=" is dropped.
    with pytest.raises(ToolError, match=r"unexpected 'a' at position 5"):
        calculate("= 1 a")


def test_calculator_rejects_words_around_the_expression() -> None:
    with pytest.raises(ToolError, match=r"unexpected 'w' at position 1"):
        calculate("what is 2 + 2")
    with pytest.raises(ToolError, match=r"unexpected 'd' at position 7"):
        calculate("2 + 2 dollars")


def test_calculator_division_by_zero_is_an_error() -> None:
    for expression in ("1/0", "5 % 0", "1 / (2 - 2)", "0 ** -1", "1 / 0.0"):
        with pytest.raises(ToolError, match="calculator: division by zero"):
            calculate(expression)


def test_calculator_rejects_huge_results() -> None:
    for expression in ("2**10000", "10 ** 101", "9 ** 9 ** 9", "0.5 ** -1000", "1e400", "1e60 * 1e60"):
        with pytest.raises(ToolError, match="calculator: result too large"):
            calculate(expression)
    assert calculate("10 ** 99") == "1" + "0" * 99


def test_calculator_rejects_overlong_expressions() -> None:
    assert calculate("+".join(["1"] * 100)) == "100"  # 199 characters
    with pytest.raises(ToolError, match="longer than 200 characters"):
        calculate("1" + "+1" * 100)


def test_calculator_rejects_complex_results() -> None:
    with pytest.raises(ToolError, match="not a real number"):
        calculate("(-8) ** (1/3)")


def test_calculator_empty_expression_is_an_error() -> None:
    for expression in ("", "   ", "=", "?"):
        with pytest.raises(ToolError, match="calculator: the expression is empty"):
            calculate(expression)


def test_calculator_never_uses_eval_exec_or_compile() -> None:
    tree = ast.parse(Path(tools_module.__file__).read_text(encoding="utf-8"))
    called = {
        node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }
    assert not called & {"eval", "exec", "compile", "__import__"}


# --- registry --------------------------------------------------------------------------------


def test_tool_errors_are_value_errors() -> None:
    assert issubclass(ToolError, ValueError)


def test_builtin_tools_are_registered_from_the_builtin_source() -> None:
    for name, argument in (("lookup", "query"), ("calculator", "expression")):
        tool = TOOLS.get(name)
        assert TOOLS.source(name) == "builtin"
        assert tool.description.endswith(".") and tool.description.count(". ") == 0
        assert tool.argument_names == [argument] and tool.argument_doc(argument)
        assert tool.parameters["required"] == [argument]
        assert tool.takes_one_text()


def test_tool_is_frozen_and_serializes_without_its_function() -> None:
    tool = TOOLS.get("calculator")
    with pytest.raises(ValidationError):
        tool.name = "other"  # type: ignore[misc]
    assert set(tool.model_dump()) == {"name", "description", "parameters"}
    assert json.loads(tool.model_dump_json())["name"] == "calculator"


def test_a_builtin_tool_is_still_its_function() -> None:
    assert TOOLS.get("calculator").run({"expression": "6*7"}) == calculate("6*7") == "42"
