"""Small file helpers shared by the workloads."""
from __future__ import annotations

import errno
import hashlib
import os
import secrets
from pathlib import Path

NO_SPACE = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}  # a full disk, a file size limit, a quota


def no_space(exc: OSError, what: str, folder: Path) -> ValueError | OSError:
    """The error to raise when writing `what` into `folder` failed: a clear
    ValueError for a full disk, the OSError itself otherwise."""
    if exc.errno in NO_SPACE:
        return ValueError(f"cannot write {what} in {folder} ({exc.strerror}); free some disk space there "
                          "(or set RNN_ARENA_HOME to a folder on a disk with room), then try again")
    return exc


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def temporary_name(path: Path, suffix: str = ".tmp") -> Path:
    """A hidden name beside `path`, unique to this process and call, to write
    into and then os.replace onto `path`: two commands writing the same file
    at once (two prepares) never share or remove each other's half-written file."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}{suffix}")
