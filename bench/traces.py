"""Figures for traces from elsewhere (issue 10): what recording costs, and how fast OTLP comes in.

    .venv/bin/python bench/traces.py [--quick]

- recorder overhead per LLM call and per tool call (µs): the same loop with and without
  `tape_studio.record`, through litellm (to an in-process fake model, so no network time hides the
  cost) and through the openai client (to the local fake OpenAI server);
- OTLP receiver: spans per second from 1 and 4 concurrent exporters (the official OTLP/HTTP
  exporter, protobuf, batches of 64 spans in end order as BatchSpanProcessor sends them);
- lag from a span's end to its step being visible in a store query, exported as each span ends
  (SimpleSpanProcessor), for a trace growing to 300 spans.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "traces"))

from openai_fake import fake_openai  # noqa: E402

import tape_studio  # noqa: E402
from tape_studio.core.fake_llm import register_fake  # noqa: E402
from tape_studio.core.interop.traces.receiver import Receiver  # noqa: E402
from tape_studio.core.llm import litellm_module  # noqa: E402
from tape_studio.core.store import Store  # noqa: E402


ROUNDS = 5


def _per_call_us(loop: Any, n: int, store: Store | None) -> float:
    start = time.perf_counter()
    if store is None:
        loop(n)
    else:
        with tape_studio.record("bench", store=store):
            loop(n)
    return (time.perf_counter() - start) / n * 1e6


def _compare(loop: Any, n: int, store: Store) -> tuple[float, float]:
    """Median per-call time unrecorded and recorded, rounds interleaved (the machine is shared)."""
    plain, recorded = [], []
    for _ in range(ROUNDS):
        plain.append(_per_call_us(loop, n, None))
        recorded.append(_per_call_us(loop, n, store))
    return statistics.median(plain), statistics.median(recorded)


def recorder_overhead(n: int, folder: Path) -> None:
    litellm = litellm_module()
    model = register_fake("bench-echo", lambda messages, params: "ok")

    def lite(k: int) -> None:
        for _ in range(k):
            litellm.completion(model=model, messages=[{"role": "user", "content": "hi"}])

    def plain_tool(city: str) -> str:
        return city

    traced = tape_studio.traced_tool(plain_tool)

    def tools(fn: Any) -> Any:
        def loop(k: int) -> None:
            for _ in range(k):
                fn("Paris")
        return loop

    store = Store(folder / "record.sqlite")
    lite(20)  # warm up litellm and the fake
    rows = [("litellm call (in-process fake model)", *_compare(lite, n, store))]
    base = statistics.median(_per_call_us(tools(plain_tool), n, None) for _ in range(ROUNDS))
    traced_us = statistics.median(_per_call_us(tools(traced), n, store) for _ in range(ROUNDS))
    rows.append(("traced tool call (plain function)", base, traced_us))
    with fake_openai() as fake:
        import openai

        client = openai.OpenAI(base_url=fake.url, api_key="sk-bench")

        def http(k: int) -> None:
            for _ in range(k):
                client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}])

        http(10)
        rows.append(("openai client call (local HTTP fake)", *_compare(http, n, store)))
    print(f"recorder overhead (median of {ROUNDS} interleaved rounds of {n} calls; each step is one SQLite commit):")
    for name, base, recorded in rows:
        print(f"  {name:<40} {base:>9.1f} µs unrecorded  {recorded:>9.1f} µs recorded  "
              f"overhead {recorded - base:>8.1f} µs per call")


def _spans_of_traces(traces: int, per_trace: int) -> list[Any]:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for t in range(traces):
        with tracer.start_as_current_span(f"invoke_agent bench{t}", attributes={"gen_ai.operation.name": "invoke_agent"}):
            for n in range(per_trace // 2 - 1):
                with tracer.start_as_current_span("chat m", attributes={
                        "gen_ai.operation.name": "chat", "gen_ai.request.model": "m",
                        "gen_ai.output.messages": '[{"role": "assistant", "parts": [{"type": "tool_call", "id": "c%d", '
                                                  '"name": "add", "arguments": {"n": %d}}]}]' % (n, n)}):
                    pass
                with tracer.start_as_current_span("execute_tool add", attributes={
                        "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add", "gen_ai.tool.call.id": f"c{n}",
                        "gen_ai.tool.call.result": str(n)}):
                    pass
    return list(exporter.get_finished_spans())  # in end order, as a batch processor sends them


def receiver_throughput(exporters: int, traces: int, per_trace: int, folder: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    store = Store(folder / f"rx{exporters}.sqlite")
    receiver = Receiver(store, port=0)
    url = receiver.start()
    work = [_spans_of_traces(traces, per_trace) for _ in range(exporters)]

    def send(spans: list[Any]) -> None:
        exporter = OTLPSpanExporter(endpoint=f"{url}/v1/traces")
        for i in range(0, len(spans), 64):
            assert exporter.export(spans[i:i + 64]).name == "SUCCESS"
        exporter.shutdown()

    send(_spans_of_traces(1, 4))  # warm up: the first request pays for imports and connections
    threads = [threading.Thread(target=send, args=(spans,)) for spans in work]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    receiver.stop()
    total = sum(len(spans) for spans in work)
    print(f"  {exporters} exporter{'s' if exporters > 1 else ' '}: {total:>6,} spans in {elapsed:5.1f} s = "
          f"{total / elapsed:>7,.0f} spans/s  ({store.count_tapes() - 1} tapes of {per_trace} spans)")


def visibility_lag(spans: int, folder: Path) -> None:
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor

    store = Store(folder / "lag.sqlite")
    reader = Store(store.path)
    receiver = Receiver(store, port=0)
    url = receiver.start()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter(endpoint=f"{url}/v1/traces")))
    tracer = provider.get_tracer("bench")
    lags: list[float] = []
    with tracer.start_as_current_span("invoke_agent live", attributes={"gen_ai.operation.name": "invoke_agent"}):
        for n in range(spans):
            with tracer.start_as_current_span("execute_tool add", attributes={
                    "gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "add", "gen_ai.tool.call.result": str(n)}):
                ended = time.perf_counter()  # the span ends (and is exported) as the block closes
            while not reader.list_tapes() or reader.list_tapes()[0].n_steps < 1 + 2 * (n + 1):
                time.sleep(0.0005)
            lags.append((time.perf_counter() - ended) * 1000)
    receiver.stop()
    quarter = max(1, spans // 4)
    print(f"lag from span end to its step in another connection's query (export on end, one trace growing to {spans} spans):")
    for label, part in (("first quarter", lags[:quarter]), ("last quarter", lags[-quarter:])):
        print(f"  {label:<14} median {statistics.median(part):6.1f} ms   p95 {sorted(part)[int(len(part) * 0.95) - 1]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs (for a smoke test)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        recorder_overhead(50 if args.quick else 300, folder)
        traces = 5 if args.quick else 25
        print(f"OTLP receiver ingest (each exporter sends {traces} traces of 40 spans):")
        for exporters in (1, 4):
            receiver_throughput(exporters, traces, 40, folder)
        visibility_lag(40 if args.quick else 150, folder)


if __name__ == "__main__":
    main()
