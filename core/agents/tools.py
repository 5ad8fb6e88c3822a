"""Tools for the built-in agents, kept tiny and offline so that a run is reproducible and safe to replay."""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from importlib import resources

from tape_studio.core.tools import tool

__all__ = ["CALCULATOR", "LOOKUP", "ToolError", "calculate", "lookup"]


class ToolError(ValueError):
    """Raised so the caller can show a person-readable reason as the observation instead of crashing the run."""


# ---------------------------------------------------------------------------------------------
# lookup

_KB_PACKAGE = __package__ or "tape_studio.core.agents"
_KB_RESOURCE = "data/kb.json"

# Only function words: content words such as "capital" or "symbol" carry the meaning of a query.
_STOPWORDS = frozenset(
    """
    a an the of is are was were be been what which who whom whose when where how many much
    in on at to for from by with and or do does did tell me about please its it this that
    there give find search look up
    """.split()
)

_TOKEN = re.compile(r"[^\W_]+")


def _fold(token: str) -> str:
    """Strip a plural "s" so that "moons" meets "moon" without a real stemmer."""
    if len(token) > 3 and token.endswith("s") and not token.endswith("ss"):
        return token[:-1]
    return token


def _tokens(text: str) -> frozenset[str]:
    """Reduce text to comparable words so that retrieval ignores case, punctuation and filler."""
    return frozenset(_fold(t) for t in _TOKEN.findall(text.lower()) if t not in _STOPWORDS)


@dataclass(frozen=True, slots=True)
class _Entry:
    """A KB entry with its words pre-tokenized, so each lookup is only set intersections."""

    title: str
    text: str
    title_tokens: frozenset[str]
    text_tokens: frozenset[str]


@functools.cache
def _knowledge_base() -> tuple[_Entry, ...]:
    """Read the bundled KB once, from package data, so lookups stay fast and work after a wheel install."""
    raw = resources.files(_KB_PACKAGE).joinpath(_KB_RESOURCE).read_text(encoding="utf-8")
    return tuple(
        _Entry(e["title"], e["text"], _tokens(e["title"]), _tokens(e["text"])) for e in json.loads(raw)
    )


def lookup(query: str) -> str:
    """Return the best-matching KB entry so the agent can ground its answer in a known fact."""
    if not query.strip():
        raise ToolError("lookup: the query is empty; say what to look up, e.g. 'capital of France'")
    wanted = _tokens(query)
    best: _Entry | None = None
    best_score = 0
    for entry in _knowledge_base():
        score = 3 * len(wanted & entry.title_tokens) + len(wanted & entry.text_tokens)
        if score > best_score:  # strict: ties keep the earlier entry
            best, best_score = entry, score
    if best is None:
        raise ToolError(f"lookup: nothing found for {query.strip()!r}")
    return f"{best.title}: {best.text}"


# ---------------------------------------------------------------------------------------------
# calculator

MAX_EXPRESSION_LENGTH = 200
_MAX_MAGNITUDE = 1e100
_ALLOWED = "only numbers, + - * / % ** ^ and parentheses are allowed"

_NUMBER = re.compile(r"(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_OPERATORS = ("**", "+", "-", "*", "/", "%", "^", "(", ")")

Number = int | float


@dataclass(frozen=True, slots=True)
class _Token:
    text: str
    position: int  # 1-based, in the expression as the caller wrote it
    value: Number | None = None


def _too_large(value: Number) -> Number:
    """Cap magnitudes so a hostile expression cannot eat memory or CPU, nor print a huge answer."""
    if isinstance(value, float) and math.isnan(value):
        raise ToolError("calculator: result is not a number")
    if abs(value) > _MAX_MAGNITUDE:
        raise ToolError("calculator: result too large")
    return value


def _tokenize(expression: str) -> list[_Token]:
    """Split the expression into tokens so that any stray character is reported where it stands."""
    tokens: list[_Token] = []
    i = 0
    while i < len(expression):
        char = expression[i]
        if char.isspace():
            i += 1
            continue
        number = _NUMBER.match(expression, i)
        if number:
            text = number.group()
            value: Number = float(text) if any(c in text for c in ".eE") else int(text)
            tokens.append(_Token(text, i + 1, _too_large(value)))
            i = number.end()
            continue
        operator = next((op for op in _OPERATORS if expression.startswith(op, i)), None)
        if operator is None:
            raise ToolError(f"calculator: unexpected {char!r} at position {i + 1} ({_ALLOWED})")
        tokens.append(_Token(operator, i + 1))
        i += len(operator)
    return tokens


def _power(base: Number, exponent: Number) -> Number:
    """Estimate the size of a power before computing it, because 9**9**9 would never finish."""
    if base == 0 and exponent < 0:
        raise ToolError("calculator: division by zero (zero raised to a negative power)")
    if base != 0 and exponent * math.log10(abs(base)) > 100:
        raise ToolError("calculator: result too large")
    try:
        result = base**exponent
    except OverflowError:
        raise ToolError("calculator: result too large") from None
    if isinstance(result, complex):
        raise ToolError("calculator: result is not a real number (fractional power of a negative number)")
    return result


class _Parser:
    """Recursive descent over a token list, so that only arithmetic can ever be evaluated.

    expression := term (("+" | "-") term)*
    term       := unary (("*" | "/" | "%") unary)*
    unary      := ("+" | "-") unary | power
    power      := atom (("**" | "^") unary)?      right-associative; -2**2 == -4 as in Python
    atom       := NUMBER | "(" expression ")"
    """

    def __init__(self, tokens: list[_Token]) -> None:
        self.tokens = tokens
        self.index = 0

    def peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            after = f" after {self.tokens[-1].text!r}" if self.tokens else ""
            raise ToolError(f"calculator: the expression ends too early{after}")
        self.index += 1
        return token

    def parse(self) -> Number:
        value = self.expression()
        extra = self.peek()
        if extra is not None:
            raise ToolError(f"calculator: unexpected {extra.text!r} at position {extra.position}")
        return value

    def expression(self) -> Number:
        value = self.term()
        while (token := self.peek()) is not None and token.text in ("+", "-"):
            self.index += 1
            right = self.term()
            value = _too_large(value + right if token.text == "+" else value - right)
        return value

    def term(self) -> Number:
        value = self.unary()
        while (token := self.peek()) is not None and token.text in ("*", "/", "%"):
            self.index += 1
            right = self.unary()
            if token.text == "*":
                value = _too_large(value * right)
            elif right == 0:
                raise ToolError(f"calculator: division by zero at position {token.position}")
            elif token.text == "/":
                value = _too_large(value / right)
            else:
                value = value % right
        return value

    def unary(self) -> Number:
        token = self.peek()
        if token is not None and token.text in ("+", "-"):
            self.index += 1
            value = self.unary()
            return -value if token.text == "-" else value
        return self.power()

    def power(self) -> Number:
        base = self.atom()
        token = self.peek()
        if token is not None and token.text in ("**", "^"):
            self.index += 1
            return _too_large(_power(base, self.unary()))
        return base

    def atom(self) -> Number:
        token = self.take()
        if token.value is not None:
            return token.value
        if token.text == "(":
            value = self.expression()
            closing = self.peek()
            if closing is None:
                raise ToolError(f"calculator: missing ')' to close the '(' at position {token.position}")
            if closing.text != ")":
                raise ToolError(f"calculator: unexpected {closing.text!r} at position {closing.position}")
            self.index += 1
            return value
        raise ToolError(f"calculator: unexpected {token.text!r} at position {token.position}")


def _format(value: Number) -> str:
    """Print results the way a person writes them, so the model can copy them into its answer."""
    if isinstance(value, int):
        return str(value)
    rounded = float(f"{value:.10g}")
    if rounded.is_integer() and abs(rounded) < 1e15:
        return str(int(rounded))
    return f"{value:.10g}"


def calculate(expression: str) -> str:
    """Evaluate arithmetic without eval, because model output must never run as Python."""
    if len(expression) > MAX_EXPRESSION_LENGTH:
        raise ToolError(f"calculator: expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    # Blank out a leading "=" and a trailing "?" rather than cutting them, so positions stay true.
    text = expression
    stripped = text.lstrip()
    if stripped.startswith("="):
        at = len(text) - len(stripped)
        text = text[:at] + " " + text[at + 1 :]
    stripped = text.rstrip()
    if stripped.endswith("?"):
        text = stripped[:-1] + " " + text[len(stripped) :]
    tokens = _tokenize(text)
    if not tokens:
        raise ToolError("calculator: the expression is empty; write arithmetic such as '2 * (3 + 4)'")
    try:
        return _format(_too_large(_Parser(tokens).parse()))
    except ZeroDivisionError:
        raise ToolError("calculator: division by zero") from None
    except OverflowError:
        raise ToolError("calculator: result too large") from None
    except RecursionError:
        raise ToolError("calculator: the expression is nested too deeply") from None


# ---------------------------------------------------------------------------------------------
# the tools, registered like any user's

LOOKUP = tool(
    lookup, name="lookup",
    description="Look up a short fact about a country, chemical element, planet, famous person or unit.",
    parameter_docs={"query": "a few keywords, e.g. 'capital of France' or 'atomic number of oxygen'"},
)
CALCULATOR = tool(
    calculate, name="calculator",
    description="Compute an arithmetic expression with numbers, + - * / % ** and parentheses.",
    parameter_docs={"expression": "arithmetic only, e.g. '(12.5 + 3) * 4' or '2 ** 10'"},
)
