"""Masking secrets in text we record or print: a provider's error body may quote the request's key.

Two nets: the values of every environment variable named like a credential (what litellm reads for
its providers: `OPENAI_API_KEY`, `AZURE_AD_TOKEN`, `AWS_SECRET_ACCESS_KEY`, `WATSONX_APIKEY`, ...),
and anything shaped like one (`Bearer …`, `sk-…`, `api_key=…`) even when no variable holds it.
"""

from __future__ import annotations

import os
import re

MASK = "***"

_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL|_PAT$", re.IGNORECASE)
_SHORTEST_SECRET = 8
"""Shorter values (`1`, `true`, a port) would mask ordinary words; no real key is that short."""

_SHAPES = (
    # An HTTP credential: `Authorization: Bearer <token>`, also Basic and bare `Token <…>`. A digit or
    # a length no English word has tells a credential from prose ("token limit", "bearer of").
    re.compile(r"(?i)\b(bearer|basic|token)(\s+)(?:(?=[A-Za-z._~+/=-]*[0-9])[A-Za-z0-9._~+/=-]{8,}|[A-Za-z0-9._~+/=-]{20,})"),
    # Key formats of the big providers and code hosts: sk-…, sk-ant-…, gsk_…, xai-…, hf_…, ghp_…, AKIA….
    re.compile(r"\b(?:sk|rk|pk)-[A-Za-z0-9_-]{8,}|\b(?:gsk|hf|ghp|gho|ghs|github_pat|glpat|xai|pplx)[-_][A-Za-z0-9_-]{10,}"
               r"|\bAKIA[0-9A-Z]{16}\b|\bAIza[0-9A-Za-z_-]{30,}"),
    # A key given as a field: `api_key=…`, `"x-api-key": "…"`, `access_token: …`.
    re.compile(r"(?i)(\b(?:api[-_]?key|x-api-key|access[-_]?token|secret|password|authorization)[\"']?\s*[:=]\s*[\"']?)"
               r"(?!\*\*\*)[^\s\"',;}]{8,}"),
)


def configured_secrets() -> list[str]:
    """Values of the environment variables that hold credentials, longest first (so that a key
    containing another is masked whole)."""
    values = {value for name, value in os.environ.items()
              if _SECRET_NAME.search(name) and len(value.strip()) >= _SHORTEST_SECRET}
    return sorted(values, key=len, reverse=True)


def redact(text: str) -> str:
    """`text` with every configured secret and every key-shaped string replaced by `***`."""
    if not text:
        return text
    for secret in configured_secrets():
        text = text.replace(secret.strip(), MASK)
    text = _SHAPES[0].sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _SHAPES[1].sub(MASK, text)
    return _SHAPES[2].sub(lambda m: f"{m.group(1)}{MASK}", text)
