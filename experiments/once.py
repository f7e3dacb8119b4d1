"""One start per request. A second click on a start button, or the same
form sent from two tabs, asks for the same thing again within seconds: the
request (its action and everything it asks for) is a key, and within a short
window (RNN_ARENA_REPEAT_WINDOW, default 30 s) the same key starts nothing
new and returns what the first one started, marked as a repeat.

The registry is a small folder of files in the data folder (requests/), each
written under a file lock, so it holds across Streamlit sessions, dashboard
processes and the CLI on one data folder. A request that failed is not
remembered: trying again after an error starts it again."""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any, Callable

ENV_WINDOW = "RNN_ARENA_REPEAT_WINDOW"
WINDOW_DEFAULT = 30.0
KEEP_SECONDS = 24 * 3600  # older request files are removed as new ones are written


class Started(str):
    """What a start action returned (a run id, a status), as a string, with
    whether it is a repeat of the same request and a line that says so."""

    repeat: bool = False
    age: float = 0.0

    def __new__(cls, value: str, repeat: bool = False, age: float = 0.0) -> "Started":
        obj = super().__new__(cls, value)
        obj.repeat, obj.age = repeat, age
        return obj

    @property
    def note(self) -> str:
        if not self.repeat:
            return ""
        return (f"The same request was made {self.age:.0f} s ago (a second click, or another tab): nothing new was "
                "started; this is the first one's result.")


def window_seconds() -> float:
    text = os.environ.get(ENV_WINDOW, "").strip()
    if not text:
        return WINDOW_DEFAULT
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{ENV_WINDOW}={text!r} is not a number of seconds; set it to e.g. 30") from None
    if not 0 <= value <= 3600:
        raise ValueError(f"{ENV_WINDOW}={text!r} must be between 0 and 3600 seconds")
    return value


def request_key(action: str, request: Any) -> str:
    text = json.dumps([action, request], sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def once(home: Path, action: str, request: Any, start: Callable[[], Any], window: float | None = None) -> Started:
    """start() unless the same (action, request) started within the window;
    a concurrent second request waits for the first and gets its result."""
    window = window_seconds() if window is None else window
    folder = Path(home) / "requests"
    folder.mkdir(parents=True, exist_ok=True)
    key = request_key(action, request)
    with open(folder / f"{key}.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # held while the first one starts: the second sees its result
        done = folder / f"{key}.json"
        try:
            last = json.loads(done.read_text(encoding="utf-8"))
            age = time.time() - float(last["at"])
            if 0 <= age < window:
                return Started(str(last["value"]), repeat=True, age=age)
        except (OSError, ValueError, KeyError, TypeError):
            pass  # none yet, or unreadable: start
        value = start()
        text = "" if value is None else str(value)
        tmp = folder / f".{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"action": action, "at": time.time(), "value": text}), encoding="utf-8")
        tmp.replace(done)
    _prune(folder)
    return Started(text)


def _prune(folder: Path) -> None:
    cutoff = time.time() - KEEP_SECONDS
    try:
        for path in folder.iterdir():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
            except OSError:
                pass
    except OSError:
        pass
