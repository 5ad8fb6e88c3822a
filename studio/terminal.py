"""Text for a terminal: tapes carry untrusted text, so human output shows control characters as
escapes (an ESC in a title must not move the cursor or recolour the screen) and never a secret.

JSON output (`--json`) is not passed through here: it stays exact, and JSON escapes controls itself.
"""

from __future__ import annotations

import sys
import unicodedata

from tape_studio.core.redact import redact

_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Zl", "Zp"}
"""Controls, format characters (bidi overrides), lone surrogates, private use, line/paragraph separators."""


_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    if char in _SHORT:
        return _SHORT[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def clean(text: object, keep_newlines: bool = False) -> str:
    """`text` safe to print: secrets masked, every control character written as an escape
    (`\\x1b`, `\\u202e`); newlines kept only when asked (multi-line messages), tabs never."""
    shown = redact(str(text))
    return "".join(
        char if (char == "\n" and keep_newlines) or unicodedata.category(char) not in _CATEGORIES else _escape(char)
        for char in shown
    )


def error(message: object) -> None:
    """The CLI's one-line reason on stderr (a replay miss keeps its diff lines)."""
    print(f"tape-studio: error: {clean(message, keep_newlines=True)}", file=sys.stderr)
