"""Real trace producers, run as a subprocess by the tests: an instrumented OpenAI loop (or an OpenAI
Agents SDK agent) calling the fake OpenAI server, exporting with the official OTLP/HTTP exporters
and, at the same time, to OTLP/JSON files (one export per line, as the Collector's file exporter
writes them), encoded by the official encoder.

    python producers.py KIND FAKE_URL ENDPOINT|- TRACES_FILE|- [LOGS_FILE|-]

KIND: openinference | genai-latest | genai-events | openllmetry | agents
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

KIND, FAKE_URL, ENDPOINT, TRACES_FILE = sys.argv[1:5]
LOGS_FILE = sys.argv[5] if len(sys.argv) > 5 else "-"
if KIND == "genai-latest":
    os.environ["OTEL_SEMCONV_STABILITY_OPT_IN"] = "gen_ai_latest_experimental"
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "SPAN_ONLY"
else:
    os.environ["OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"] = "true"
os.environ["TRACELOOP_TRACE_CONTENT"] = "true"

from google.protobuf import json_format  # noqa: E402
from opentelemetry.sdk._logs import LoggerProvider  # noqa: E402
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult, SimpleLogRecordProcessor  # noqa: E402
from opentelemetry.sdk.resources import Resource  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult  # noqa: E402


def _hex_ids(value: Any) -> Any:
    """The protobuf JSON mapping writes ids as base64; OTLP/JSON wants hex."""
    import base64

    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") and isinstance(v, str)
                    else _hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


class JsonLinesSpans(SpanExporter):
    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, spans: Any) -> SpanExportResult:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(_hex_ids(json_format.MessageToDict(encode_spans(spans)))) + "\n")
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class JsonLinesLogs(LogRecordExporter):
    def __init__(self, path: str) -> None:
        self.path = path

    def export(self, batch: Any) -> LogRecordExportResult:
        from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs

        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(_hex_ids(json_format.MessageToDict(encode_logs(batch)))) + "\n")
        return LogRecordExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True

    def shutdown(self) -> None:
        pass


resource = Resource.create({"service.name": f"weather-bot-{KIND}"})
tracer_provider = TracerProvider(resource=resource)
logger_provider = LoggerProvider(resource=resource)
if ENDPOINT != "-":
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    tracer_provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{ENDPOINT}/v1/traces")))
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(OTLPLogExporter(endpoint=f"{ENDPOINT}/v1/logs")))
if TRACES_FILE != "-":
    tracer_provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpans(TRACES_FILE)))
if LOGS_FILE != "-":
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(JsonLinesLogs(LOGS_FILE)))

WEATHER = {"type": "function", "function": {"name": "weather", "description": "Weather of a city.",
                                            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}


def weather(city: str) -> str:
    return f"sunny in {city}"


def openai_loop() -> None:
    """A two-call tool loop under one app span, so both calls are in one trace."""
    import openai

    client = openai.OpenAI(base_url=FAKE_URL, api_key="sk-test-producer-key")
    tracer = tracer_provider.get_tracer("weather-bot")
    with tracer.start_as_current_span("weather-bot"):
        messages: list[dict[str, Any]] = [{"role": "system", "content": "Answer with the weather tool."},
                                          {"role": "user", "content": "What is the weather in Paris?"}]
        first = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER], temperature=0)
        call = first.choices[0].message.tool_calls[0]
        messages.append({"role": "assistant", "content": None, "tool_calls": [call.model_dump()]})
        messages.append({"role": "tool", "tool_call_id": call.id, "content": weather(**json.loads(call.function.arguments))})
        client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=[WEATHER], temperature=0)


def agents_sdk() -> None:
    import agents
    from openai import AsyncOpenAI
    from openinference.instrumentation.openai_agents import OpenAIAgentsInstrumentor

    agents.set_trace_processors([])  # nothing goes to OpenAI's own trace service
    OpenAIAgentsInstrumentor().instrument(tracer_provider=tracer_provider)
    model = agents.OpenAIChatCompletionsModel(model="gpt-4o-mini",
                                              openai_client=AsyncOpenAI(base_url=FAKE_URL, api_key="sk-test-producer-key"))
    tool = agents.function_tool(weather)
    agent = agents.Agent(name="weather-bot", instructions="Answer with the weather tool.", tools=[tool], model=model)
    result = agents.Runner.run_sync(agent, "What is the weather in Paris?")
    print(result.final_output)


if KIND == "agents":
    agents_sdk()
else:
    if KIND == "openinference":
        from openinference.instrumentation import using_session
        from openinference.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        with using_session("conversation-7"):  # two requests of one conversation: one tape
            openai_loop()
            openai_loop()
    elif KIND == "openllmetry":
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider)
        openai_loop()
    else:
        from opentelemetry.instrumentation.openai_v2 import OpenAIInstrumentor

        OpenAIInstrumentor().instrument(tracer_provider=tracer_provider, logger_provider=logger_provider)
        openai_loop()
tracer_provider.shutdown()
logger_provider.shutdown()
