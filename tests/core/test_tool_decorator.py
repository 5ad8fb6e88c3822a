"""@tool: a typed function becomes a tool whose schema, words and argument checks come from its code."""

from __future__ import annotations

import enum
from typing import Literal

import pytest

from tape_studio.core.environment import Environment
from tape_studio.core.errors import ConfigError
from tape_studio.core.plugins import ensure_configured
from tape_studio.core.spec import ToolDoc
from tape_studio.core.tape import ToolCall
from tape_studio.core.tools import TOOLS, Tool, ToolArgumentError, as_tool, tool


class Unit(enum.Enum):
    CELSIUS = "celsius"
    KELVIN = "kelvin"


def forecast(city: str, days: int = 1, unit: Literal["celsius", "fahrenheit"] = "celsius", precise: bool = False,
             wind: float | None = None) -> str:
    """The forecast for a city.

    Longer words that are not the summary's first paragraph are kept too.

    Args:
        city: the city's name, e.g. "Oslo"
        days: how many days ahead,
            from 1 to 7
        unit: celsius or fahrenheit
    """
    return f"{city}/{days}/{unit}/{precise}/{wind}"


def test_schema_comes_from_type_hints_and_defaults() -> None:
    schema = Tool.from_function(forecast).parameters
    props = schema["properties"]
    assert schema["required"] == ["city"]
    assert props["city"]["type"] == "string"
    assert props["days"] == {"type": "integer", "default": 1, "description": "how many days ahead, from 1 to 7"}
    assert props["unit"]["enum"] == ["celsius", "fahrenheit"] and props["unit"]["default"] == "celsius"
    assert props["precise"]["type"] == "boolean"
    assert {option.get("type") for option in props["wind"]["anyOf"]} == {"number", "null"}
    assert "title" not in str(schema)


def test_description_is_the_docstrings_first_part_and_arguments_get_their_lines() -> None:
    made = Tool.from_function(forecast)
    assert made.name == "forecast"
    assert made.description.startswith("The forecast for a city. Longer words")
    assert made.argument_doc("city") == 'the city\'s name, e.g. "Oslo"'
    assert made.argument_doc("unit") == "celsius or fahrenheit"


def test_sphinx_style_argument_docs_are_read() -> None:
    def area(width: float, height: float) -> float:
        """Area of a rectangle.

        :param width: in metres
        :param height: in metres too
        """
        return width * height

    made = Tool.from_function(area)
    assert made.description == "Area of a rectangle."
    assert made.argument_doc("width") == "in metres" and made.argument_doc("height") == "in metres too"


def test_enum_arguments_are_inlined_and_converted() -> None:
    def temperature(unit: Unit) -> str:
        """Reads the thermometer."""
        return unit.value

    made = Tool.from_function(temperature)
    assert made.parameters["properties"]["unit"]["enum"] == ["celsius", "kelvin"]
    assert "$defs" not in made.parameters
    assert made.run({"unit": "kelvin"}) == "kelvin"


def test_run_validates_and_coerces_json_arguments() -> None:
    made = Tool.from_function(forecast)
    assert made.run({"city": "Oslo", "days": "3", "precise": True}) == "Oslo/3/celsius/True/None"
    assert made.run({"city": 42}) == "42/1/celsius/False/None"  # small models write numbers for text


@pytest.mark.parametrize(("arguments", "problem"), [
    ({}, "argument 'city': Field required"),
    ({"city": "Oslo", "days": "soon"}, "argument 'days': Input should be a valid integer"),
    ({"city": "Oslo", "unit": "kelvin"}, "argument 'unit': Input should be 'celsius' or 'fahrenheit'"),
    ({"city": "Oslo", "colour": "red"}, "argument 'colour': not an argument of this tool"),
])
def test_bad_arguments_say_which_argument_and_why(arguments: dict, problem: str) -> None:
    with pytest.raises(ToolArgumentError, match="^forecast: ") as raised:
        Tool.from_function(forecast).run(arguments)
    assert problem in str(raised.value)


def test_results_that_are_not_text_become_json() -> None:
    def stats(n: int) -> dict[str, int]:
        """Counts."""
        return {"n": n, "double": 2 * n}

    assert Tool.from_function(stats).run({"n": 2}) == '{"n": 2, "double": 4}'


def test_a_tool_that_raises_is_an_error_observation_not_a_crash() -> None:
    def broken(x: str) -> str:
        """Always fails."""
        raise RuntimeError("the service is down")

    env = Environment({"broken": broken})
    result = env.run_tool(ToolCall(tool="broken", arguments={"x": "1"}))
    assert result.is_error and result.content == "RuntimeError: the service is down"
    bad_args = env.run_tool(ToolCall(tool="broken", arguments={"y": "1"}))
    assert bad_args.is_error and "argument 'x': Field required" in bad_args.content


def test_the_decorator_registers_with_options_and_keeps_the_function_callable() -> None:
    @tool(name="test_decorated_echo", description="Says it back.", parameter_docs={"text": "what to say"})
    def echo(text: str) -> str:
        return text

    assert TOOLS.get("test_decorated_echo") is echo
    assert TOOLS.source("test_decorated_echo") == __name__
    assert echo("hi") == "hi" and echo.run({"text": "ho"}) == "ho"
    assert echo.argument_doc("text") == "what to say"


def test_two_sources_cannot_define_one_tool_name() -> None:
    ensure_configured()  # the built-in lookup is registered

    def lookup(query: str) -> str:
        """Shadows the built-in lookup."""
        return query

    with pytest.raises(ConfigError, match="tool 'lookup' is defined twice: by builtin and by"):
        tool(lookup)


def test_signature_shows_types_except_for_required_text() -> None:
    assert Tool.from_function(forecast).signature() == (
        'forecast(city, days: integer = 1, unit: "celsius" | "fahrenheit" = "celsius", precise: boolean = false, '
        'wind: number | null = null)')


def test_a_spec_tool_doc_is_an_overlay() -> None:
    made = Tool.from_function(forecast)
    overlaid = made.with_doc(ToolDoc(description="Weather for a town.", parameters={"city": "a town"}))
    assert overlaid.description == "Weather for a town. (city: a town)"
    assert overlaid.argument_doc("city") == "a town" and made.argument_doc("city").startswith("the city's")
    assert overlaid.run({"city": "Oslo"}) == made.run({"city": "Oslo"})
    assert made.with_doc(None) is made and made.with_doc(ToolDoc()) is made


def test_openai_schema_is_what_native_tool_calling_takes() -> None:
    schema = Tool.from_function(forecast).openai_schema()
    assert schema["type"] == "function"
    assert schema["function"]["name"] == "forecast" and schema["function"]["parameters"]["required"] == ["city"]


def test_plain_functions_and_untyped_arguments_still_make_tools() -> None:
    made = as_tool(lambda query: f"found {query}", name="finder")
    assert made.takes_one_text() and made.signature() == "finder(query)"
    assert made.run({"query": 3}) == "found 3"


def test_functions_with_star_arguments_are_refused() -> None:
    def anything(*args: str) -> str:
        return ""

    with pytest.raises(ConfigError, match="must be a plain named argument"):
        Tool.from_function(anything)
