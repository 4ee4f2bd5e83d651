"""What a folder run of the batch widget does with results already in its output folder.

The three choices map onto the options of the command line and of
:func:`napari_noise2inpaint.tasks.batch.iter_batch`: stop (neither, today's refusal), skip them
(``--skip-existing``) or replace them (``--overwrite``). Whatever the choice, a result never
replaces an input or the model file:
:func:`~napari_noise2inpaint.tasks.batch.iter_batch` refuses it.
"""

from __future__ import annotations

import os
from pathlib import Path

from napari_noise2inpaint import InputError
from napari_noise2inpaint.images.files import same_file
from napari_noise2inpaint.tasks.batch import output_path

STOP, SKIP, REPLACE = "stop", "skip", "replace"
#: (text shown, value) pairs for the "existing results" picker; stop first, the default.
CHOICES = [("stop", STOP), ("skip them", SKIP), ("replace them", REPLACE)]


def batch_options(choice: str) -> dict[str, bool]:
    """Return the ``iter_batch`` options for ``choice``: ``skip_existing`` and ``overwrite``.

    Parameters
    ----------
    choice : str
        One of ``STOP``, ``SKIP`` and ``REPLACE``.

    Returns
    -------
    dict
        ``{"skip_existing": bool, "overwrite": bool}``, at most one of them True.
    """
    if choice not in (STOP, SKIP, REPLACE):
        raise ValueError(f"unknown choice for existing results: {choice!r}")
    return {"skip_existing": choice == SKIP, "overwrite": choice == REPLACE}


def existing_results(files: list[Path], out: Path, uncertainty: bool) -> list[Path]:
    """Return the results of ``files`` (and their uncertainty files) already in ``out``.

    An input where its result would go is left out: that run is refused by ``iter_batch``
    whatever the choice, with its own message.
    """
    suffixes = ["", "_uncertainty"] if uncertainty else [""]
    names = [output_path(path, out, suffix) for suffix in suffixes for path in files]
    return [
        name
        for name in names
        if os.path.lexists(name) and not any(same_file(name, path) for path in files)
    ]


def check_nothing_exists(files: list[Path], out: Path, uncertainty: bool) -> None:
    """Refuse, in one sentence, a run that would meet results already in ``out`` ("stop").

    Raises
    ------
    InputError
        Some results exist already; the message names one and the two other choices.
    """
    existing = existing_results(files, out, uncertainty)
    if existing:
        raise InputError(
            f"{len(existing)} result(s) exist already in {out}, such as {existing[0].name}; "
            "nothing was changed. Choose 'skip them' or 'replace them' under "
            "'existing results' to go on."
        )
