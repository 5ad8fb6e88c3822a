"""Tools: typed Python functions an agent may call, described to the model by their own signature.

`@tool` reads a function's type hints, defaults and docstring and builds the JSON schema of its
arguments (several arguments, numbers, booleans, enums and Literals, optional ones with defaults).
A spec's `tool_docs` are an overlay on a tool: `with_doc` returns the same tool in the spec's words.
"""

from __future__ import annotations

import enum
import inspect
import json
import re
from collections.abc import Callable
from typing import Any, get_type_hints, overload

from pydantic import BaseModel, ConfigDict, Field, JsonValue, PrivateAttr, ValidationError, create_model

from tape_studio.core.errors import ConfigError
from tape_studio.core.registry import Registry, source_of_module
from tape_studio.core.spec import ToolDoc

TOOLS: Registry[Tool] = Registry("tool")
"""Every tool defined with `@tool` (built-in ones included), by name."""

_ARGUMENTS_CONFIG = ConfigDict(extra="forbid", coerce_numbers_to_str=True)
"""Small models write 42 where a string is asked for; unknown arguments are a mistake to report."""


class ToolArgumentError(ValueError):
    """The model called a tool with arguments its schema does not allow; an error observation."""


class Tool(BaseModel):
    """A function an agent may call: its name, the words a model reads, and its arguments' schema."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    name: str
    description: str
    """One or two sentences a small model can read."""
    parameters: dict[str, JsonValue]
    """JSON schema of the arguments object (`properties`, `required`), as models with tool calling take it."""
    function: Callable[..., Any] = Field(exclude=True, repr=False)
    _arguments: type[BaseModel] | None = PrivateAttr(default=None)

    @classmethod
    def from_function(
        cls, function: Callable[..., Any], name: str | None = None, description: str | None = None,
        parameter_docs: dict[str, str] | None = None,
    ) -> Tool:
        """A tool from a typed function; `parameter_docs` override what the docstring says of each argument."""
        if not callable(function):
            raise ConfigError(f"a tool needs a function, got {function!r}")
        summary, docs = _read_docstring(inspect.getdoc(function) or "")
        docs.update(parameter_docs or {})
        arguments = _arguments_model(function, docs)
        made = cls(name=name or function.__name__, description=description or summary or (name or function.__name__),
                   parameters=_schema(arguments), function=function)
        made._arguments = arguments
        return made

    # --- what a node shows the model ---------------------------------------------------------

    @property
    def argument_names(self) -> list[str]:
        return list(self._properties())

    @property
    def main_parameter(self) -> str:
        return next(iter(self._properties()), "input")

    def argument_doc(self, name: str) -> str:
        schema = self._properties().get(name)
        return str(schema.get("description", "")) if isinstance(schema, dict) else ""

    def takes_one_text(self) -> bool:
        """True for a tool of one required text (or untyped) argument: nodes may then ask for it as a
        plain `input`."""
        props = self._properties()
        if len(props) != 1:
            return False
        (name, schema), = props.items()
        return _type_label(schema) in ("string", "any") and name in self._required()

    def signature(self) -> str:
        """`name(arg, count: integer = 3)`: text arguments that must be given stay bare, as small models read best."""
        parts = []
        required = self._required()
        for name, schema in self._properties().items():
            kind = _type_label(schema)
            text = name if kind in ("string", "any") and name in required else f"{name}: {kind}"
            if name not in required and isinstance(schema, dict) and "default" in schema:
                text += f" = {json.dumps(schema['default'])}"
            parts.append(text)
        return f"{self.name}({', '.join(parts)})"

    def openai_schema(self) -> dict[str, JsonValue]:
        """The tool as OpenAI-style `tools=[...]` takes it (litellm passes it on to any provider)."""
        return {"type": "function", "function": {"name": self.name, "description": self.description,
                                                  "parameters": self.parameters}}

    def with_doc(self, doc: ToolDoc | None) -> Tool:
        """This tool in a spec's words. Nodes list argument names only, so overridden argument docs
        also ride along in the description."""
        if doc is None or not (doc.description or doc.parameters):
            return self
        props = self._properties()
        notes = "; ".join(f"{name}: {doc.parameters[name]}" for name in props if doc.parameters.get(name))
        description = doc.description or self.description
        schema = json.loads(json.dumps(self.parameters))
        for name, text in doc.parameters.items():
            if text and isinstance(schema.get("properties", {}).get(name), dict):
                schema["properties"][name]["description"] = text
        made = self.model_copy(update={"description": f"{description} ({notes})" if notes else description,
                                       "parameters": schema})
        made._arguments = self._arguments
        return made

    # --- running -----------------------------------------------------------------------------

    def run(self, arguments: dict[str, JsonValue]) -> str:
        """Checks the arguments against the schema, calls the function, returns its result as text."""
        if not isinstance(arguments, dict):
            raise ToolArgumentError(f"{self.name}: arguments must be a JSON object, got {type(arguments).__name__}")
        values = dict(arguments)
        if self._arguments is not None:
            try:
                values = dict(self._arguments.model_validate(arguments))
            except ValidationError as exc:
                raise ToolArgumentError(_argument_problem(self.name, exc)) from None
        return _as_text(self.function(**values))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """A tool is still its function: `lookup("France")` works in user code and tests."""
        return self.function(*args, **kwargs)

    def _properties(self) -> dict[str, Any]:
        props = self.parameters.get("properties")
        return props if isinstance(props, dict) else {}

    def _required(self) -> set[str]:
        required = self.parameters.get("required")
        return {str(name) for name in required} if isinstance(required, list) else set()


@overload
def tool(function: Callable[..., Any], /) -> Tool: ...
@overload
def tool(
    function: None = None, /, *, name: str | None = None, description: str | None = None,
    parameter_docs: dict[str, str] | None = None,
) -> Callable[[Callable[..., Any]], Tool]: ...
@overload
def tool(
    function: Callable[..., Any], /, *, name: str | None = None, description: str | None = None,
    parameter_docs: dict[str, str] | None = None,
) -> Tool: ...


def tool(
    function: Callable[..., Any] | None = None, /, *, name: str | None = None, description: str | None = None,
    parameter_docs: dict[str, str] | None = None,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Decorator (bare or with options) that makes a typed function a registered tool.

        @tool
        def weather(city: str, days: int = 1) -> str:
            '''The forecast for a city.

            Args:
                city: the city's name, e.g. "Oslo"
                days: how many days ahead, 1 to 7
            '''
    """
    def make(fn: Callable[..., Any]) -> Tool:
        made = Tool.from_function(fn, name=name, description=description, parameter_docs=parameter_docs)
        return TOOLS.add(made.name, made, source_of_module(getattr(fn, "__module__", "") or ""))

    return make(function) if function is not None else make


def as_tool(value: Tool | Callable[..., Any], name: str | None = None) -> Tool:
    """A Tool as it is, or a plain function made into an (unregistered) one."""
    return value if isinstance(value, Tool) else Tool.from_function(value, name=name)


def tool_source(name: str) -> str:
    return TOOLS.source(name)


# --- reading a function ----------------------------------------------------------------------

_SECTION = re.compile(r"^(Args|Arguments|Parameters|Params):\s*$", re.IGNORECASE)
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SPHINX = re.compile(r"^\s*:param\s+(?:\w+\s+)?(\w+)\s*:\s*(.*)$")


def _read_docstring(doc: str) -> tuple[str, dict[str, str]]:
    """The summary (text before any argument section) and one line per documented argument.

    Google style (`Args:` then `name: text`) and Sphinx style (`:param name: text`) are read."""
    summary: list[str] = []
    docs: dict[str, str] = {}
    in_args = False
    last = ""
    for line in doc.splitlines():
        if _SECTION.match(line.strip()):
            in_args = True
            continue
        sphinx = _SPHINX.match(line)
        if sphinx:
            last = sphinx.group(1)
            docs[last] = sphinx.group(2).strip()
            continue
        if in_args:
            match = _ARG_LINE.match(line)
            if match and (line.startswith((" ", "\t")) or not line.strip().endswith(":")):
                last = match.group(1).lstrip("*")
                docs[last] = match.group(2).strip()
            elif line.strip() and last:
                docs[last] = f"{docs[last]} {line.strip()}".strip()
            elif not line.strip():
                in_args = False
            continue
        if line.strip().startswith(":"):
            continue
        summary.append(line)
    text = " ".join(" ".join(summary).split())
    return text, docs


def _arguments_model(function: Callable[..., Any], docs: dict[str, str]) -> type[BaseModel]:
    try:
        signature = inspect.signature(function)
        hints = get_type_hints(function)
    except (TypeError, ValueError, NameError) as exc:
        raise ConfigError(f"tool {getattr(function, '__name__', function)!r}: cannot read its signature: {exc}") from None
    fields: dict[str, Any] = {}
    for name, parameter in signature.parameters.items():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD, parameter.POSITIONAL_ONLY):
            raise ConfigError(f"tool {function.__name__!r}: argument {name!r} must be a plain named argument")
        annotation = hints.get(name, Any)
        default = ... if parameter.default is parameter.empty else parameter.default
        fields[name] = (annotation, Field(default, description=docs.get(name) or None))
    try:
        return create_model(f"{function.__name__}_arguments", __config__=_ARGUMENTS_CONFIG, **fields)
    except Exception as exc:  # a type pydantic cannot describe is the tool author's mistake
        raise ConfigError(f"tool {function.__name__!r}: unsupported argument type: {exc}") from None


def _schema(model: type[BaseModel]) -> dict[str, JsonValue]:
    """The arguments' JSON schema with titles dropped and `$ref`s inlined (small models, and some
    providers, read a flat schema best)."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})

    def clean(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                return clean(definitions[node["$ref"].rsplit("/", 1)[-1]])
            return {key: clean(value) for key, value in node.items() if key != "title"}
        if isinstance(node, list):
            return [clean(item) for item in node]
        return node

    cleaned = clean(schema)
    cleaned.pop("additionalProperties", None)
    cleaned.setdefault("properties", {})
    cleaned.setdefault("required", [])
    return cleaned


def _type_label(schema: Any) -> str:
    if not isinstance(schema, dict):
        return "any"
    if "enum" in schema:
        return " | ".join(json.dumps(value) for value in schema["enum"])
    if "anyOf" in schema:
        return " | ".join(_type_label(option) for option in schema["anyOf"])
    kind = schema.get("type")
    return str(kind) if kind else "any"


def _argument_problem(tool_name: str, exc: ValidationError) -> str:
    problems = []
    for error in exc.errors()[:3]:
        where = ".".join(str(part) for part in error["loc"]) or "arguments"
        message = "not an argument of this tool" if error["type"] == "extra_forbidden" else error["msg"]
        problems.append(f"argument {where!r}: {message}")
    return f"{tool_name}: " + "; ".join(problems)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, BaseModel):
        return value.model_dump_json()
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        return str(value)
