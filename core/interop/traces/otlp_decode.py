"""OTLP traces and logs, protobuf or JSON, decoded with the official `opentelemetry-proto` messages.

OTLP/JSON is the protobuf JSON mapping except that trace and span ids are hex, not base64; they
are rewritten to base64 so that the official parser validates every field, and read back as hex.
Anything malformed raises InputError with a one-line reason naming the place.
"""

from __future__ import annotations

import base64
import binascii
import gzip
import zlib
from typing import Any, Literal

from tape_studio.core.errors import InputError
from tape_studio.core.interop.traces.spans import LogEvent, Span, SpanEvent, TraceBatch

Signal = Literal["traces", "logs"]
MAX_BODY_BYTES = 64 * 1024 * 1024
"""The most one request (after decompression) or one file may hold; larger is refused, not truncated."""
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


def _messages() -> tuple[Any, Any]:
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    return ExportTraceServiceRequest, ExportLogsServiceRequest


def decode_body(body: bytes, content_type: str, content_encoding: str, signal: Signal) -> TraceBatch:
    """One OTLP/HTTP request body: `application/x-protobuf` or `application/json`, maybe gzip."""
    raw = _decompress(body, content_encoding.strip().lower())
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind == "application/json":
        import json

        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, ValueError) as exc:
            raise InputError(f"invalid JSON: {exc}") from None
        return decode_json(data, signal)
    if kind in ("application/x-protobuf", "application/protobuf"):
        return decode_protobuf(raw, signal)
    raise InputError(f"unsupported Content-Type {content_type!r}; send application/x-protobuf or application/json")


def _decompress(body: bytes, encoding: str) -> bytes:
    if encoding in ("", "identity"):
        if len(body) > MAX_BODY_BYTES:
            raise InputError(f"body larger than {MAX_BODY_BYTES} bytes")
        return body
    if encoding not in ("gzip", "deflate"):
        raise InputError(f"unsupported Content-Encoding {encoding!r}; send gzip or none")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, MAX_BODY_BYTES + 1)
    except (zlib.error, gzip.BadGzipFile) as exc:
        raise InputError(f"body is not valid {encoding}: {exc}") from None
    if len(out) > MAX_BODY_BYTES or inflater.unconsumed_tail:
        raise InputError(f"body inflates past {MAX_BODY_BYTES} bytes")
    return out


def decode_protobuf(raw: bytes, signal: Signal) -> TraceBatch:
    from google.protobuf.message import DecodeError

    message = _messages()[0 if signal == "traces" else 1]()
    try:
        message.ParseFromString(raw)
    except (DecodeError, RuntimeError, ValueError) as exc:
        raise InputError(f"not an OTLP {signal} protobuf message: {exc}") from None
    return _from_message(message, signal)


def decode_json(data: Any, signal: Signal | None = None, where: str = "") -> TraceBatch:
    """An OTLP/JSON document: `{"resourceSpans": [...]}` or `{"resourceLogs": [...]}` (either when `signal` is None)."""
    from google.protobuf import json_format

    if not isinstance(data, dict):
        raise InputError(f"{where}expected a JSON object with resourceSpans or resourceLogs, got {type(data).__name__}")
    if signal is None:
        signal = "logs" if "resourceLogs" in data and "resourceSpans" not in data else "traces"
    key = "resourceSpans" if signal == "traces" else "resourceLogs"
    if not isinstance(data.get(key, []), list):
        raise InputError(f"{where}{key}: expected a list")
    message = _messages()[0 if signal == "traces" else 1]()
    try:
        json_format.ParseDict(_ids_as_base64(data, where), message, ignore_unknown_fields=True)
    except json_format.ParseError as exc:
        raise InputError(f"{where}not valid OTLP/JSON {signal}: {str(exc).splitlines()[0]}") from None
    return _from_message(message, signal, where)


def is_otlp_json(data: Any) -> bool:
    return isinstance(data, dict) and (isinstance(data.get("resourceSpans"), list)
                                       or isinstance(data.get("resourceLogs"), list))


# --- JSON ids --------------------------------------------------------------------------------


def _ids_as_base64(data: dict[str, Any], where: str) -> dict[str, Any]:
    """A copy of the document with hex ids as base64, which is what the protobuf JSON mapping expects."""
    out = dict(data)
    for key, inner, items in (("resourceSpans", "scopeSpans", "spans"), ("resourceLogs", "scopeLogs", "logRecords")):
        resources = data.get(key)
        if not isinstance(resources, list):
            continue
        out[key] = [_resource(r, f"{where}{key}[{n}]", inner, items) for n, r in enumerate(resources)]
    return out


def _resource(resource: Any, where: str, inner: str, items: str) -> Any:
    if not isinstance(resource, dict) or not isinstance(resource.get(inner, []), list):
        return resource  # the official parser names what is wrong
    scopes = []
    for s, scope in enumerate(resource.get(inner) or []):
        if isinstance(scope, dict) and isinstance(scope.get(items, []), list):
            scope = {**scope, items: [_fix_ids(item, f"{where}.{inner}[{s}].{items}[{n}]")
                                      for n, item in enumerate(scope.get(items) or [])]}
        scopes.append(scope)
    return {**resource, inner: scopes}


def _fix_ids(item: Any, where: str) -> Any:
    if not isinstance(item, dict):
        return item
    fixed = dict(item)
    for name in _ID_FIELDS:
        value = item.get(name)
        if isinstance(value, str) and value:
            try:
                fixed[name] = base64.b64encode(bytes.fromhex(value)).decode()
            except ValueError:
                raise InputError(f"{where}.{name}: {value[:40]!r} is not hex") from None
    if isinstance(item.get("links"), list):
        fixed["links"] = [_fix_ids(link, f"{where}.links[{n}]") for n, link in enumerate(item["links"])]
    return fixed


# --- messages to values ----------------------------------------------------------------------


def _from_message(message: Any, signal: Signal, where: str = "") -> TraceBatch:
    batch = TraceBatch()
    if signal == "traces":
        for r, resource_spans in enumerate(message.resource_spans):
            resource = _attributes(resource_spans.resource.attributes)
            for scope_spans in resource_spans.scope_spans:
                for n, span in enumerate(scope_spans.spans):
                    batch.spans.append(_span(span, resource, scope_spans.scope.name, f"{where}resourceSpans[{r}].spans[{n}]"))
    else:
        for resource_logs in message.resource_logs:
            for scope_logs in resource_logs.scope_logs:
                batch.logs += [_log(record) for record in scope_logs.log_records]
    return batch


def _span(span: Any, resource: dict[str, Any], scope: str, where: str) -> Span:
    if len(span.trace_id) != 16 or len(span.span_id) != 8:
        raise InputError(f"{where}: a span needs a 16-byte traceId and an 8-byte spanId")
    return Span(
        trace_id=span.trace_id.hex(), span_id=span.span_id.hex(), parent_id=span.parent_span_id.hex(),
        name=span.name, kind=int(span.kind), start_ns=int(span.start_time_unix_nano),
        end_ns=int(span.end_time_unix_nano), attributes=_attributes(span.attributes),
        events=tuple(SpanEvent(name=e.name, time_ns=int(e.time_unix_nano), attributes=_attributes(e.attributes))
                     for e in span.events),
        status_code=int(span.status.code), status_message=span.status.message, resource=resource, scope=scope,
    )


def _log(record: Any) -> LogEvent:
    return LogEvent(
        trace_id=record.trace_id.hex(), span_id=record.span_id.hex(),
        time_ns=int(record.time_unix_nano or record.observed_time_unix_nano), event_name=getattr(record, "event_name", ""),
        body=_value(record.body) if record.HasField("body") else None, attributes=_attributes(record.attributes),
    )


def _attributes(pairs: Any) -> dict[str, Any]:
    return {kv.key: _value(kv.value) for kv in pairs}


def _value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "array_value":
        return [_value(v) for v in value.array_value.values]
    if which == "kvlist_value":
        return _attributes(value.kvlist_value.values)
    if which == "bytes_value":
        return binascii.hexlify(value.bytes_value).decode()
    return getattr(value, which) if which else None
