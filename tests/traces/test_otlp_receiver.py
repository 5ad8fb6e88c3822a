"""The OTLP/HTTP receiver: protobuf and JSON, gzip, pieces out of order and re-sent, bad payloads.

Spans are made by the real OpenTelemetry SDK and encoded by its official OTLP encoder."""

from __future__ import annotations

import gzip
import json
import random
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trace_helpers import kinds, only_tape

from tape_studio.core.interop.traces.builder import build_tape
from tape_studio.core.interop.traces.otlp_decode import decode_protobuf
from tape_studio.core.interop.traces.receiver import Receiver
from tape_studio.core.store import Store

N_TURNS = 500
"""Each turn is a chat span that calls a tool and the tool's span: 1,000 spans in one trace."""


def _spans(turns: int) -> list[Any]:
    """One agent trace made with the OpenTelemetry SDK, in the current GenAI semantic conventions."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("invoke_agent looper", attributes={
            "gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": "looper"}):
        for n in range(turns - 1):
            call = {"type": "tool_call", "id": f"c{n}", "name": "add", "arguments": {"n": n}}
            with tracer.start_as_current_span("chat m", attributes={
                    "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                    "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": "count"}]}]),
                    "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [call]}])}):
                pass
            with tracer.start_as_current_span("execute_tool add", attributes={
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add", "gen_ai.tool.call.id": f"c{n}",
                    "gen_ai.tool.call.result": str(n + 1)}):
                pass
        with tracer.start_as_current_span("chat m", attributes={
                "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                "gen_ai.output.messages": json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "done"}]}])}):
            pass
    return list(exporter.get_finished_spans())


def _body(spans: list[Any]) -> bytes:
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    return encode_spans(spans).SerializeToString()


@pytest.fixture
def receiver(store: Store) -> Iterator[Receiver]:
    rx = Receiver(store, port=0)
    rx.start()
    yield rx
    rx.stop()


def _post(url: str, body: bytes, content_type: str = "application/x-protobuf", encoding: str = "",
          path: str = "/v1/traces") -> tuple[int, bytes]:
    headers = {"Content-Type": content_type, **({"Content-Encoding": encoding} if encoding else {})}
    request = urllib.request.Request(url + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_1000_spans_shuffled_split_and_resent_from_4_exporters_make_one_tape(receiver: Receiver, store: Store) -> None:
    spans = _spans(N_TURNS)
    assert len(spans) == 2 * N_TURNS
    pieces = spans * 2  # every span is sent twice
    random.Random(7).shuffle(pieces)
    batches = [pieces[i:i + 100] for i in range(0, len(pieces), 100)]

    def send(mine: list[list[Any]]) -> None:
        for batch in mine:
            assert _post(receiver.url, _body(batch))[0] == 200

    threads = [threading.Thread(target=send, args=(batches[k::4],)) for k in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    tape = only_tape(store)
    whole = decode_protobuf(_body(spans), "traces")
    expected = build_tape(tape.id, whole.spans, []).tape
    assert tape.steps == expected.steps  # the same as building from all spans at once, in order
    assert len({s.metadata.id for s in tape.steps}) == len(tape.steps)
    assert kinds(tape)[:4] == ["task", "tool_call", "tool_result", "tool_call"] and kinds(tape)[-1] == "final_answer"
    assert len(tape.steps) == 1 + 2 * (N_TURNS - 1) + 1 and tape.metadata.status == "completed"
    assert store.summary(tape.id).n_llm_calls == N_TURNS


def test_json_and_gzip_bodies_are_received(receiver: Receiver, store: Store) -> None:
    from google.protobuf import json_format
    from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

    spans = _spans(2)
    document = json_format.MessageToDict(encode_spans(spans[:2]))
    for span in document["resourceSpans"][0]["scopeSpans"][0]["spans"]:  # OTLP/JSON ids are hex
        for key in ("traceId", "spanId", "parentSpanId"):
            if key in span:
                import base64

                span[key] = base64.b64decode(span[key]).hex()
    status, body = _post(receiver.url, json.dumps(document).encode(), "application/json")
    assert (status, json.loads(body)) == (200, {})
    assert _post(receiver.url, gzip.compress(_body(spans[2:])), encoding="gzip")[0] == 200
    assert kinds(only_tape(store)) == ["task", "tool_call", "tool_result", "final_answer"]


@pytest.mark.parametrize(("body", "content_type", "encoding", "reason"), [
    (b"\x0a\xff\xff\xff", "application/x-protobuf", "", "not an OTLP traces protobuf message"),
    (b"{not json", "application/json", "", "invalid JSON"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz", "spanId": "00"}]}]}]}', "application/json", "",
     "traceId: 'zz' is not hex"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "' + b"0a" * 16 + b'", "spanId": "' + b"0b" * 8
     + b'", "startTimeUnixNano": "soon"}]}]}]}', "application/json", "", "not valid OTLP/JSON traces"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "0a", "spanId": "0b"}]}]}]}', "application/json", "",
     "a span needs a 16-byte traceId"),
    (b"plain", "application/x-protobuf", "gzip", "not valid gzip"),
    (b"{}", "text/plain", "", "unsupported Content-Type"),
])
def test_a_bad_payload_gets_400_with_a_reason_and_changes_nothing(
        receiver: Receiver, store: Store, body: bytes, content_type: str, encoding: str, reason: str) -> None:
    assert _post(receiver.url, _body(_spans(2)))[0] == 200
    before = (store.load_tape(store.list_tapes()[0].id), store.count_tapes())
    status, answer = _post(receiver.url, body, content_type, encoding)
    assert status == 400 and reason in json.loads(answer)["message"]
    assert (store.load_tape(store.list_tapes()[0].id), store.count_tapes()) == before


def test_unknown_paths_and_oversized_bodies_are_refused(receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _post(receiver.url, b"{}", "application/json", path="/v1/metrics")[0] == 404
    from tape_studio.core.interop.traces import receiver as module

    monkeypatch.setattr(module, "MAX_BODY_BYTES", 10)
    assert _post(receiver.url, b"x" * 11)[0] == 413


def test_log_records_before_their_spans_join_the_tape_when_the_spans_come(receiver: Receiver, store: Store) -> None:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    spans = _spans(1)
    chat = next(s for s in spans if s.name == "chat m")
    logs = ExportLogsServiceRequest()
    record = logs.resource_logs.add().scope_logs.add().log_records.add()
    record.trace_id = chat.context.trace_id.to_bytes(16, "big")
    record.span_id = chat.context.span_id.to_bytes(8, "big")
    record.event_name = "gen_ai.user.message"
    record.body.kvlist_value.values.add(key="content").value.string_value = "count to one"
    assert _post(receiver.url, logs.SerializeToString(), path="/v1/logs")[0] == 200
    assert store.count_tapes() == 0  # a log record alone makes no tape: it waits for its trace
    assert _post(receiver.url, _body(spans))[0] == 200
    tape = only_tape(store)
    call = store.calls_for_tape(tape.id)[0]
    assert call.messages == [{"role": "user", "content": "count to one"}]


def test_tape_studio_collect_serves_until_interrupted_and_reports_each_tape(tmp_path: Any) -> None:
    import re
    import signal
    import subprocess
    import sys

    def as_from_a_terminal() -> None:
        # A child inherits ignored and blocked signals; whatever the test process did to SIGINT,
        # the CLI starts as it would from a shell, where Ctrl+C reaches it.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
        signal.signal(signal.SIGINT, signal.SIG_DFL)

    collect = subprocess.Popen([sys.executable, "-m", "tape_studio.studio.cli", "collect", "--port", "0",
                                "--store", str(tmp_path / "s.sqlite")], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, preexec_fn=as_from_a_terminal)
    assert collect.stderr is not None and collect.stdout is not None
    banner = collect.stderr.readline()
    url = re.search(r"(http://127\.0\.0\.1:\d+)/v1/traces", banner)
    assert url is not None, banner
    assert _post(url.group(1), _body(_spans(2)))[0] == 200
    line = collect.stdout.readline()
    assert "completed" in line and "4 steps" in line and "looper" in line
    assert _post(url.group(1), b"junk", "application/json")[0] == 400
    assert "rejected: 400 invalid JSON" in collect.stderr.readline()
    status = Path(f"/proc/{collect.pid}/status").read_text()
    masks = [line for line in status.splitlines() if line.startswith(("SigBlk", "SigIgn", "SigCgt"))]
    collect.send_signal(signal.SIGINT)
    try:
        code = collect.wait(60)
    except subprocess.TimeoutExpired:
        collect.kill()
        pytest.fail(f"collect ignored SIGINT for 60 s; its signal masks: {masks}; stderr: {collect.stderr.read()[-2000:]}")
    assert code == 0
    assert "received 4 new spans" in collect.stderr.read()
