"""An OTLP/HTTP receiver: `POST /v1/traces` and `/v1/logs` (protobuf or JSON, gzip or not) into tapes.

Any app instrumented with OpenTelemetry (OpenInference, OpenLLMetry, the OpenAI Agents SDK, the
GenAI instrumentations) exports here when `OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318`.
A request is decoded whole before anything is written: a bad one gets HTTP 400 with the reason and
changes nothing. Good ones are ingested by one writer thread (one store connection, batches in
arrival order), and the response is sent once the batch is committed.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.core.interop.traces.ingest import IngestReport, ingest
from tape_studio.core.interop.traces.otlp_decode import MAX_BODY_BYTES, Signal, decode_body
from tape_studio.core.interop.traces.spans import TraceBatch
from tape_studio.core.store import Store

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 4318
PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/logs": "logs"}


@dataclass
class ReceiverStats:
    requests: int = 0
    rejected: int = 0
    spans: int = 0
    logs: int = 0


class Receiver:
    """The HTTP server and its writer; `start()` serves in a background thread, `stop()` ends it."""

    def __init__(self, store: Store, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
                 on_batch: Callable[[IngestReport], None] | None = None,
                 on_reject: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.on_batch = on_batch
        self.on_reject = on_reject
        self.stats = ReceiverStats()
        self._queue: queue.Queue[tuple[TraceBatch, Future[IngestReport]] | None] = queue.Queue()
        self._writer = threading.Thread(target=self._write, name="otlp-writer", daemon=True)
        self._writer.start()
        self._server = ThreadingHTTPServer((host, port), _handler(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> str:
        self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
        self._thread.start()
        return self.url

    def wait(self) -> None:
        """Blocks until the server stops (Ctrl+C in the CLI).

        Joins in short slices: the kernel may hand SIGINT to a server thread, and then an untimed
        join in the main thread never wakes to raise KeyboardInterrupt."""
        while self._thread is not None and self._thread.is_alive():
            self._thread.join(0.2)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._queue.put(None)
        self._writer.join()

    def receive(self, body: bytes, content_type: str, encoding: str, signal: Signal) -> IngestReport:
        """Decodes (raising InputError for a bad payload) and ingests one request body."""
        batch = decode_body(body, content_type, encoding, signal)
        done: Future[IngestReport] = Future()
        self._queue.put((batch, done))
        return done.result()

    def _write(self) -> None:
        """The one writer: batches waiting together are stored and rebuilt together (a tape that
        many exporters feed is rebuilt once per round, not once per request)."""
        while (item := self._queue.get()) is not None:
            waiting = [item]
            while len(waiting) < 64 and not self._queue.empty():
                more = self._queue.get()
                if more is None:
                    self._queue.put(None)
                    break
                waiting.append(more)
            merged = TraceBatch(spans=[s for b, _ in waiting for s in b.spans], logs=[e for b, _ in waiting for e in b.logs])
            try:
                report = ingest(self.store, merged)
            except Exception as exc:  # noqa: BLE001  (each waiting request is answered with it)
                for _, done in waiting:
                    done.set_exception(exc)
                continue
            self.stats.spans += report.new_spans
            self.stats.logs += report.new_logs
            if self.on_batch is not None:
                self.on_batch(report)
            for _, done in waiting:
                done.set_result(report)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # exporters keep the connection open between batches

        def log_message(self, *args: Any) -> None:  # the CLI prints batches itself
            pass

        def do_GET(self) -> None:
            self._send(200, "text/plain", b"Tape Studio OTLP receiver: POST /v1/traces or /v1/logs\n")

        def do_POST(self) -> None:
            receiver.stats.requests += 1
            signal = PATHS.get(self.path.split("?", 1)[0].rstrip("/"))
            if signal is None:
                return self._reject(404, f"no endpoint {self.path!r}; use /v1/traces or /v1/logs")
            length = self.headers.get("Content-Length")
            if length is None or not length.isdigit():
                return self._reject(411, "a Content-Length header is required")
            if int(length) > MAX_BODY_BYTES:
                return self._reject(413, f"body of {length} bytes is over the limit of {MAX_BODY_BYTES}", drain=False)
            body = self.rfile.read(int(length))
            content_type = self.headers.get("Content-Type", "application/x-protobuf")
            try:
                receiver.receive(body, content_type, self.headers.get("Content-Encoding", ""), signal)
            except InputError as exc:
                return self._reject(400, str(exc))
            except Exception as exc:  # noqa: BLE001  (our fault: the exporter retries, the receiver goes on)
                return self._reject(500, f"could not store the batch: {type(exc).__name__}: {exc}")
            self._ok(content_type, signal)

        def _ok(self, content_type: str, signal: Signal) -> None:
            if content_type.startswith("application/json"):
                return self._send(200, "application/json", b"{}")
            from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
            from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

            response = ExportTraceServiceResponse() if signal == "traces" else ExportLogsServiceResponse()
            self._send(200, "application/x-protobuf", response.SerializeToString())

        def _reject(self, status: int, reason: str, drain: bool = True) -> None:
            receiver.stats.rejected += 1
            if receiver.on_reject is not None:
                receiver.on_reject(f"{status} {reason}")
            if not drain:
                self.close_connection = True
            body = json.dumps({"code": 3, "message": reason}).encode()  # google.rpc.Status, JSON form
            self._send(status, "application/json", body)

        def _send(self, status: int, content_type: str, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

    return Handler
