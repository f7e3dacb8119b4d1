"""Reading files of unknown origin: only regular files, never more bytes
than a bound, compressed payloads expanded with a bound, and names limited
to a safe alphabet. Each refusal is a ValueError in one line that names the
file and what is wrong with it."""
from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
import zlib
from pathlib import Path
from typing import Any

# a name that becomes part of a path, an MLflow filter or a tag: lowercase words joined by '-'
PATH_NAME = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
# a label a person reads (a study's config, a factor's level): no quotes, slashes, backslashes or controls
LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._,:;=+·()-]{0,119}")


def read_regular(path: Path, limit: int, what: str) -> bytes:
    """The bytes of `path`, refused unless it is a regular file (not a link,
    a device, a pipe or a folder) of at most `limit` bytes."""
    path = Path(path)
    try:
        info = os.lstat(path)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what} ({exc.strerror or exc}); restore the file") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a link" if stat.S_ISLNK(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode) else \
            "a device or a pipe"
        raise ValueError(f"{path}: {what} must be a regular file, not {kind}; replace it with the file itself")
    if info.st_size > limit:
        raise ValueError(f"{path}: {what} is {info.st_size:,} bytes, more than the {limit:,} bytes such a file "
                         "can hold; it is not a file this project wrote")
    try:  # O_NOFOLLOW and a second look: the file cannot be swapped for a link or a device in between
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise ValueError(f"{path}: cannot read {what} ({exc.strerror or exc}); restore the file") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise ValueError(f"{path}: {what} must be a regular file; replace it with the file itself")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: {what} is more than {limit:,} bytes; it is not a file this project wrote")
    return data


def read_json(path: Path, limit: int, what: str) -> Any:
    data = read_regular(path, limit, what)
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = "nested too deeply" if isinstance(exc, RecursionError) else str(exc).splitlines()[0][:120]
        raise ValueError(f"{path}: {what} is not valid JSON ({why}); restore it (git checkout) or export it again") \
            from None


def inflate(text: Any, max_bytes: int, where: str) -> bytes:
    """zlib(base64) text expanded to at most `max_bytes`: a stream that
    would expand further (a bomb), is cut short or is not zlib is refused."""
    if not isinstance(text, str):
        raise ValueError(f"{where}: the compressed data is not text (base64)")
    if len(text) > 4 * (max_bytes + max_bytes // 100 + 64) // 3 + 8:  # zlib adds at most ~0.03% and a few bytes
        raise ValueError(f"{where}: the compressed data ({len(text)} characters) is longer than {max_bytes:,} bytes "
                         "could compress to; it is not data this project wrote")
    try:
        packed = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise ValueError(f"{where}: the compressed data is not base64") from None
    inflater = zlib.decompressobj()
    try:
        raw = inflater.decompress(packed, max_bytes + 1)
    except zlib.error as exc:
        raise ValueError(f"{where}: the compressed data is damaged ({exc})") from None
    if len(raw) > max_bytes or inflater.unconsumed_tail:
        raise ValueError(f"{where}: the compressed data expands to more than the {max_bytes:,} bytes it declares")
    if not inflater.eof:
        raise ValueError(f"{where}: the compressed data is truncated (the zlib stream does not end)")
    if inflater.unused_data:
        raise ValueError(f"{where}: the compressed data has {len(inflater.unused_data)} bytes after its end")
    return raw


def check_name(value: Any, what: str, pattern: re.Pattern = PATH_NAME) -> str:
    """`value` if it is a string of the safe alphabet, else a ValueError."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        shown = repr(value)[:60]
        allowed = "lowercase letters, digits and '-'" if pattern is PATH_NAME else \
            "letters, digits, spaces and . _ , : ; = + · ( ) -"
        raise ValueError(f"{what} is {shown}; it must be {allowed} (at most "
                         f"{64 if pattern is PATH_NAME else 120} characters)")
    return value
