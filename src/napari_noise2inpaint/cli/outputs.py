"""What the command line may write: never a file it reads, never silently over another file."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from napari_noise2inpaint.errors import InputError


def check_output(
    out: Path, reads: Sequence[Path], *, overwrite: bool = False, flag: str = "--out"
) -> None:
    """Refuse an output path before any work is done, so that no result is lost at the end.

    Parameters
    ----------
    out : Path
        The file the command will write.
    reads : sequence of Path
        Every file the command reads (images, model, kernel, ...).
    overwrite : bool
        Whether an existing ``out`` may be replaced (``--overwrite``).
    flag : str
        The option that named ``out``, for the message.

    Raises
    ------
    InputError
        ``out`` is one of ``reads``, a folder or another non-file (a device, a pipe), lies in
        a missing or read-only folder, or exists and ``overwrite`` is False.
    """
    for path in reads:
        if _same_file(out, path):
            raise InputError(f"{flag} {out} is an input file; choose another output path.")
    if out.is_dir():
        raise InputError(f"{flag} {out} is a folder; give a file name.")
    if not out.parent.is_dir():
        raise InputError(f"Cannot write {out}: folder {out.parent} does not exist.")
    if out.exists() and not out.is_file():
        raise InputError(f"{flag} {out} is not a regular file; choose another output path.")
    if out.exists() and not overwrite:
        raise InputError(f"{flag} {out} already exists; add --overwrite to replace it.")
    try:
        with tempfile.TemporaryFile(dir=out.parent):
            pass
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise InputError(f"Cannot write {out}: folder {out.parent}: {reason}.") from None


def _same_file(out: Path, path: Path) -> bool:
    if out.resolve() == path.resolve():
        return True
    return out.exists() and path.exists() and out.samefile(path)
