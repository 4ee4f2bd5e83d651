"""Paths the package reads and writes: symlink loops, glob patterns and our temporary files.

Results are written to a hidden temporary file next to their target and renamed into place.
The temporary name records the host and process that writes it,
``.NAME.n2i-HOST-PID-XXXXXXXX.tmp``, so that a later run can remove the ones a killed
process left behind (same host, process gone) and leave every other file alone.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import secrets
import socket
from pathlib import Path

from napari_noise2inpaint.errors import InputError

_TEMP = re.compile(r"^\.(?P<name>.+)\.n2i-(?P<host>[A-Za-z0-9._]*)-(?P<pid>\d+)-[0-9a-f]{8}\.tmp$")


def resolved(path: str | os.PathLike) -> Path:
    """Return ``path`` made absolute with its links followed, also through a symlink loop.

    ``Path.resolve`` raises RuntimeError on a loop before Python 3.13; here the loop is kept
    as it is, so that comparing paths never fails.
    """
    try:
        return Path(path).resolve()
    except (OSError, RuntimeError):
        return Path(os.path.abspath(path))


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file (hard and symbolic links included)."""
    if resolved(a) == resolved(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # one of them is missing, or a broken link or loop
        return False


def is_pattern(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a glob pattern: it has ``*?[`` and names no existing file or folder."""
    return glob.has_magic(str(path)) and not os.path.lexists(path)


def missing_reason(path: Path) -> str:
    """Say why ``path`` is no readable file: missing, a broken link or loop, or no regular file."""
    if path.is_symlink() and not path.exists():
        return "is a broken symbolic link or a symbolic link loop"
    return "is not a regular file" if path.exists() else "does not exist"


def new_temp_file(path: Path) -> Path:
    """Create an empty hidden file next to ``path``, named after this host and process."""
    stem = f".{path.name}.n2i-{_host()}-{os.getpid()}-"
    for _ in range(100):
        tmp = path.parent / f"{stem}{secrets.token_hex(4)}.tmp"
        with contextlib.suppress(FileExistsError):
            os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))
            return tmp
    raise InputError(f"Cannot create a temporary file in {path.parent}.")


def remove_stale_temp_files(folder: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that killed processes of this host left in ``folder``.

    Only names of :func:`new_temp_file` whose process no longer runs are removed; files of
    other hosts (a shared file system) and of running processes stay.

    Parameters
    ----------
    folder : str or path-like
        A folder results are written to.

    Returns
    -------
    list of pathlib.Path
        The files removed.
    """
    removed = []
    with contextlib.suppress(OSError), os.scandir(folder) as entries:
        for entry in entries:
            match = _TEMP.match(entry.name)
            if match and _stale(match) and entry.is_file(follow_symlinks=False):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed.append(Path(entry.path))
    return removed


def _stale(match: re.Match) -> bool:
    pid = int(match["pid"])
    if match["host"] != _host() or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):  # another user's process, or no valid pid
        return False
    return False


def _host() -> str:
    return re.sub(r"[^A-Za-z0-9.]", "_", socket.gethostname())[:32]
