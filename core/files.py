"""Reading and writing the user's files safely.

Reading (imports): only regular files (a FIFO would block forever, a link to /dev/zero never
end), at most a size limit, UTF-8, and JSON no deeper than a tape can be. Writing (exports):
only to a regular file or a new path (never over a device, a folder or through a file), through
a temporary file renamed into place, so a reader never sees half of one even if we are killed.
"""

from __future__ import annotations

import glob
import json
import os
import re
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from tape_studio.core.errors import InputError
from tape_studio.core.processes import alive

MAX_INPUT_BYTES = 256 * 2**20
"""Largest file an import reads unless told otherwise (`--max-file-mb`)."""
MAX_DEPTH = 100
"""Deepest nesting of lists and objects an imported file may have; tapes need about 15."""

_KINDS = {stat.S_IFDIR: "a folder", stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device",
          stat.S_IFBLK: "a block device", stat.S_IFSOCK: "a socket"}
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _kind(mode: int) -> str:
    return _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def read_input(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> str:
    """The text of a file to import, refused in one line when it is not a regular UTF-8 file
    within `max_bytes` (a link is followed to what it points at)."""
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; fstat then tells what was opened.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{path}: not a regular file ({_kind(info.st_mode)}); only regular files are imported")
        if info.st_size > max_bytes:
            raise InputError(f"{path}: {info.st_size:,} bytes is over the import limit of {max_bytes:,}; "
                             "raise it with --max-file-mb")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:  # it grew while we read it
        raise InputError(f"{path}: more than the import limit of {max_bytes:,} bytes; raise it with --max-file-mb")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None


def require_regular(path: Path) -> None:
    """Refuses a path that is not a regular file (or a link to one) before a library opens it."""
    try:
        info = os.stat(path)
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file ({_kind(info.st_mode)}); only regular files are imported")


def parse_json(path: Path, text: str) -> Any:
    """JSON text as plain values, refused in one line when invalid, too deep or not valid Unicode."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{path}: nested deeper than {MAX_DEPTH} levels; no tape is") from None
    check_values(path, data, scan_text=bool(_SURROGATE_ESCAPE.search(text)))
    return data


def read_json(path: Path, max_bytes: int = MAX_INPUT_BYTES) -> Any:
    return parse_json(path, read_input(path, max_bytes))


def check_values(path: Path | str, data: Any, scan_text: bool = True) -> None:
    """Refuses nesting deeper than MAX_DEPTH and text with lone surrogates (a JSON `\\ud800`
    escape decodes to one, and no store or file can hold it). `scan_text=False` skips the text
    check when the caller knows none can be there."""
    if _all_fine(data, scan_text):
        return
    # Something is wrong: walk again, naming each value's place, to say where.
    for where, value, depth in _walk(data):
        if depth > MAX_DEPTH:
            raise InputError(f"{path}: {where}: nested deeper than {MAX_DEPTH} levels; no tape is")
        if scan_text and isinstance(value, str):
            check_text(f"{path}: {where}", value)


def check_text(where: str, text: str) -> None:
    """Refuses text that cannot be stored: a command-line argument whose bytes were not UTF-8
    (Python keeps each bad byte as a lone surrogate), or a decoded `\\ud800` escape."""
    if _is_unicode(text):
        return
    bad = next(ord(char) for char in text if 0xD800 <= ord(char) <= 0xDFFF)
    if 0xDC80 <= bad <= 0xDCFF:
        raise InputError(f"{where}: not valid UTF-8 (byte 0x{bad - 0xDC00:02x})")
    raise InputError(f"{where}: text with a lone surrogate (\\u{bad:04x}) is not valid Unicode")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _all_fine(data: Any, scan_text: bool) -> bool:
    """Whether check_values would find nothing, found without naming every value's place (what
    costs the most for an import of thousands of tapes): depth first, at most MAX_DEPTH deep."""
    if scan_text and isinstance(data, str):
        return _is_unicode(data)
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Iterable[Any] = value.values()
            if scan_text and not all(_is_unicode(key) for key in value if isinstance(key, str)):
                return False
        elif isinstance(value, list):
            children = value
        else:
            continue
        if not value:
            continue
        if depth >= MAX_DEPTH:  # its children lie deeper than MAX_DEPTH
            return False
        for child in children:
            if isinstance(child, (dict, list)):
                stack.append((child, depth + 1))
            elif scan_text and isinstance(child, str) and not _is_unicode(child):
                return False
    return True


def _walk(data: Any) -> Iterator[tuple[str, Any, int]]:
    """Every value with its JSON path and depth, without recursion (the data may be deep)."""
    stack: list[tuple[str, Any, int]] = [("(top level)", data, 0)]
    while stack:
        where, value, depth = stack.pop()
        yield where, value, depth
        if depth > MAX_DEPTH:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                yield f"{where}.{key}", key, depth + 1
                stack.append((f"{where}.{key}" if where != "(top level)" else str(key), item, depth + 1))
        elif isinstance(value, list):
            stack.extend((f"{where}[{n}]", item, depth + 1) for n, item in enumerate(value))


# --- writing -------------------------------------------------------------------------------------


def output_path(path: Path) -> Path:
    """Where writing `path` may go: the path itself when it is new or a regular file, the file a
    link points at; anything else (a device, a folder, a path under a file) is refused."""
    path = Path(path)
    target = Path(os.path.realpath(path))
    try:
        info = os.stat(target)
    except (FileNotFoundError, NotADirectoryError):
        blocking = next((p for p in target.parents if p.exists() and not p.is_dir()), None)
        if blocking is not None:
            raise InputError(f"{path}: cannot write under {blocking}: it is a file, not a folder") from None
        return target
    if not stat.S_ISREG(info.st_mode):
        raise InputError(f"{path}: not a regular file ({_kind(info.st_mode)}); refusing to replace it")
    return target


def write_atomic(path: Path, text: str) -> None:
    """Writes `text` to a temporary file beside `path`, then renames it into place. Temporary
    files that a killed writer left behind (its process is gone) are removed first."""
    target = output_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temporaries(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes owner-only files; what we write is meant to be shared
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_temporaries(target: Path) -> None:
    # A temporary file's name carries its writer's pid: `.<name>.<pid>.<random>.tmp`.
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.tmp"):
        pid = leftover.name[len(target.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            leftover.unlink(missing_ok=True)
