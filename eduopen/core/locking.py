"""One writer at a time on an EduOpen home.

DuckDB allows one writing process per file, and publish swaps files under the readers' feet, so
every step that writes (ingest, transform, validate, publish) holds an exclusive `flock` on
`<home>/.writer.lock`. The kernel drops the lock when the holder dies, so a crashed run never
leaves a stale lock behind; the pid written into the file is only there to name the holder.

The lock is re-entrant within one thread of one process: `pipeline` can hold it around steps that
take it themselves. Another thread or another process is refused (flock locks belong to the open
file description, so even a second `open()` in the same process conflicts).
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from eduopen.core.errors import LockHeld
from eduopen.core.paths import Home

# (pid, thread id, lock path) -> nesting depth. The pid is part of the key so a forked child does
# not believe it inherited its parent's lock.
_held: dict[tuple[int, int, str], int] = {}
_POLL_S = 0.05


def _holder_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 64, 0).decode("ascii", "replace").strip()
    except OSError:
        return "unknown"
    return text or "unknown"


@contextmanager
def writer_lock(home: Home, *, wait_s: float = 0) -> Iterator[Path]:
    """Hold the home's writer lock for the duration of the block; yields the lock file's path.

    Raises `LockHeld` when another process (or thread) still holds it after `wait_s` seconds.
    """
    path = home.lock
    key = (os.getpid(), threading.get_ident(), str(path))
    if key in _held:
        _held[key] += 1
        try:
            yield path
        finally:
            _held[key] -= 1
        return

    path.parent.mkdir(parents=True, exist_ok=True)
    # O_CLOEXEC: a dbt or Airflow child process must not keep our lock alive after we exit.
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    deadline = time.monotonic() + max(wait_s, 0.0)
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    holder = _holder_pid(fd)
                    waited = f" after waiting {wait_s:g} s" if wait_s > 0 else ""
                    error = LockHeld(
                        f"another EduOpen writer (pid {holder}) holds {path}{waited}; retry when it has finished"
                    )
                    error.pid = int(holder) if holder.isdigit() else None  # type: ignore[attr-defined]
                    raise error from None
                time.sleep(min(_POLL_S, remaining))
    except BaseException:
        os.close(fd)
        raise

    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode("ascii"), 0)
        _held[key] = 1
        yield path
    finally:
        _held.pop(key, None)
        try:
            # Clear the pid before unlocking so nobody reads a finished writer's pid as the holder.
            os.ftruncate(fd, 0)
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
