"""A travel helper written only against Tape Studio's public API: the worked example of
"Your own agent" in the README.

It has three typed tools with several arguments, a rule node (no model) that routes the question
and writes a step kind of its own, an LLM node that picks the tool and fills its arguments, and a
team agent whose sub-agent is this user agent. Load it with `--agents examples/travel/agent.py`.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import tape_studio as ts

# --- tools: plain typed functions ---------------------------------------------------------------

_FORECASTS = {"oslo": (4, "rain"), "tokyo": (18, "clear skies"), "paris": (12, "clouds"),
              "cairo": (31, "sunshine"), "lima": (19, "fog")}
_RATES_TO_EUR = {"EUR": 1.0, "USD": 0.92, "JPY": 0.0062, "NOK": 0.086, "GBP": 1.17}
_FLIGHT_HOURS = {frozenset({"oslo", "paris"}): 2.3, frozenset({"paris", "tokyo"}): 13.8,
                 frozenset({"oslo", "tokyo"}): 15.5, frozenset({"paris", "cairo"}): 4.6}


@ts.tool
def weather(city: str, days: int = 1, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """The forecast for a city.

    Args:
        city: the city's name, e.g. "Oslo"
        days: how many days ahead, 1 to 7
        unit: celsius or fahrenheit
    """
    if not 1 <= days <= 7:
        raise ValueError("days must be between 1 and 7")
    known = _FORECASTS.get(city.strip().lower())
    if known is None:
        raise ValueError(f"no forecast for {city!r}; known cities: {', '.join(sorted(_FORECASTS))}")
    celsius, sky = known
    value = celsius if unit == "celsius" else round(celsius * 9 / 5 + 32)
    return f"{city.title()} in {days} day(s): {sky}, {value} degrees {unit}"


@ts.tool
def convert_currency(amount: float, source: str, target: str) -> str:
    """Converts money between currencies (EUR, USD, JPY, NOK, GBP).

    Args:
        amount: how much money, e.g. 120
        source: the currency code it is in, e.g. "USD"
        target: the currency code wanted, e.g. "EUR"
    """
    rates = {code: _RATES_TO_EUR.get(code.strip().upper()) for code in (source, target)}
    unknown = [code for code, rate in rates.items() if rate is None]
    if unknown:
        raise ValueError(f"unknown currency {unknown[0]!r}; known: {', '.join(_RATES_TO_EUR)}")
    result = amount * rates[source] / rates[target]  # type: ignore[operator]
    return f"{amount:g} {source.upper()} = {result:.2f} {target.upper()}"


@ts.tool
def flight_time(origin: str, destination: str, direct_only: bool = False) -> str:
    """How long a flight between two cities takes.

    Args:
        origin: where the flight leaves from
        destination: where it lands
        direct_only: count only direct flights
    """
    hours = _FLIGHT_HOURS.get(frozenset({origin.strip().lower(), destination.strip().lower()}))
    if hours is None:
        return f"no {'direct ' if direct_only else ''}flight known from {origin} to {destination}"
    return f"{origin.title()} to {destination.title()}: about {hours:g} hours"


# --- a step kind of its own ---------------------------------------------------------------------


@ts.register_step
class RouteThought(ts.StepBase):
    """Which kind of travel question this is, decided by rules before any model is asked."""

    kind: Literal["route_thought"] = "route_thought"
    family: ClassVar = "thought"
    topic: Literal["weather", "money", "flights", "other"]
    reason: str

    def summary(self) -> str:
        return f"{self.topic}: {self.reason}"


# --- a rule node: pure Python, no model ---------------------------------------------------------

_TOPICS = {"weather": ("weather", "forecast", "rain", "temperature", "sunny"),
           "money": ("currency", "convert", "exchange", "usd", "eur", "yen", "nok", "gbp", "money"),
           "flights": ("flight", "fly", "hours", "travel time")}


@ts.register_node_type
class KeywordRouter(ts.NodeType):
    """Routes the task by its keywords and writes the route as a `route_thought` step."""

    name = "keyword_router"
    terminal_kinds = frozenset({"route_thought"})
    needs_llm = False

    def rule_steps(self, node: ts.NodeSpec, view: ts.View) -> list[ts.StepBase]:
        words = view.task.lower()
        for topic, keys in _TOPICS.items():
            found = next((key for key in keys if key in words), None)
            if found:
                return [RouteThought(topic=topic, reason=f"the task mentions {found!r}")]
        return [RouteThought(topic="other", reason="no travel keyword in the task")]


# --- the agents ---------------------------------------------------------------------------------

TRAVEL = ts.AgentSpec(
    name="travel",
    description="Answers travel questions with a weather, a currency and a flight tool.",
    example_task="What is the weather in Oslo in 2 days?",
    entry="route",
    nodes=(
        ts.NodeSpec(name="route", type="keyword_router", description="Says what kind of question this is."),
        ts.NodeSpec(
            name="plan", type="choose_tool", tools=("weather", "convert_currency", "flight_time"), max_tokens=120,
            description="Picks the tool and fills in its arguments.",
            prompt=ts.PromptComponents(
                instruction="You help a traveller by calling exactly one tool with all of its arguments.",
                examples=(ts.Example(
                    input="Question: How much is 50 GBP in EUR?\nRoute: money: the task mentions 'eur'",
                    output='{"thought": "This is a currency conversion.", "tool": "convert_currency", '
                           '"arguments": {"amount": 50, "source": "GBP", "target": "EUR"}}'),),
                input_template="Question: {task}\nRoute: {history}",
                output_format='Reply with JSON: {"thought": "...", "tool": "...", "arguments": {...}}',
            ),
        ),
        ts.NodeSpec(
            name="answer", type="answer", max_tokens=60, description="Answers from the tool's result.",
            prompt=ts.PromptComponents(
                instruction="Read the tool result, then answer the question in a few words.",
                examples=(ts.Example(input="Result: Paris in 1 day(s): clouds, 12 degrees celsius\n"
                                           "Question: What is the weather in Paris?",
                                     output='{"answer": "clouds, 12 degrees celsius"}'),),
                input_template="Result: {observations}\nQuestion: {task}",
            ),
        ),
    ),
    edges=(ts.Edge(source="route", target="plan"), ts.Edge(source="plan", target="answer")),
)

TRIP_PLANNER = ts.AgentSpec(
    name="trip_planner",
    description="A team: asks the travel agent, then writes one line of advice.",
    example_task="How long is the flight from Oslo to Paris?",
    entry="ask",
    nodes=(
        ts.NodeSpec(name="ask", type="delegate", settings={"agent": "travel"},
                    prompt=ts.PromptComponents(input_template="{task}")),
        ts.NodeSpec(name="advise", type="write", max_tokens=60, settings={"emits": "final_answer"},
                    params={"frequency_penalty": 0.8},
                    prompt=ts.PromptComponents(
                        instruction="Give the traveller one short sentence of advice.",
                        input_template="Question: {task}\nFound: {observations}")),
    ),
    edges=(ts.Edge(source="ask", target="advise"),),
)


# --- how answers are scored, and the set they are scored on -------------------------------------


@ts.register_metric
def travel_answer(prediction: str, target: str) -> float:
    """1 when a short answer states the target: the sky word ("rain") or the amount within 1%."""
    words = prediction.lower().replace(",", " ").split()
    if len(words) > 12:  # a rambling answer that happens to contain the word is not an answer
        return 0.0
    try:
        wanted = float(target)
    except ValueError:
        return float(target.lower() in prediction.lower())
    for word in words:
        try:
            if abs(float(word.strip(".:;")) - wanted) <= 0.01 * abs(wanted):
                return 1.0
        except ValueError:
            continue
    return 0.0


ts.register_dataset("travel", "data", metric="travel_answer", agent="travel")
