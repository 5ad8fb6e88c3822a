"""Traces from other tools: OTLP spans and log records, read by convention into tapes."""
