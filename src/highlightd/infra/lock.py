"""One daemon per data folder: an exclusive lock (flock) on a file in it.

The kernel drops the lock when its holder dies, however it dies (SIGKILL
included): there is no stale lock to clean up, and the file itself stays.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO


class FolderInUse(Exception):
    """Another live highlightd holds the lock; the message names it."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        super().__init__(f"another highlightd (pid {pid or '?'}) uses {folder}")
        self.folder = folder
        self.pid = pid


class FolderLock:
    """A held lock; release() (or the process ending) lets the next daemon in."""

    def __init__(self, path: Path, file: IO[str]) -> None:
        self.path = path
        self._file = file

    def release(self) -> None:
        # Closing the descriptor releases the lock. The file stays: removing it
        # would let a third process lock a new file while a second waits on the old.
        self._file.close()


def lock_folder(folder: Path, name: str) -> FolderLock:
    """Take `folder/<name>.lock` for this process, or raise FolderInUse."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.lock"
    # "a+": never truncate what the holder wrote before we hold the lock ourselves.
    file = path.open("a+", encoding="ascii")
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip()
        file.close()
        raise FolderInUse(folder, int(holder) if holder.isdigit() else None) from None
    except BaseException:
        file.close()
        raise
    with contextlib.suppress(OSError):  # the lock matters; the pid in it is a courtesy
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
    return FolderLock(path, file)
