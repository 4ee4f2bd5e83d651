"""Denoising many files: an iterator over ``(path, result or error)``, one image at a time.

Memory is bounded by one image (and its result): nothing is kept between files. One file that
cannot be read or denoised gives an item with its error and the others go on. A stop event
ends the batch cleanly between two tiles; the generator returns a :class:`BatchOutcome` that
says which files were done and which were not.

Examples
--------
>>> for item in iter_batch(model, "data/*.tif", out="denoised"):  # doctest: +SKIP
...     print(item.path, item.error or item.output)
"""

from __future__ import annotations

import glob
import os
import threading
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from napari_noise2inpaint.engine.events import DenoiseProgress
from napari_noise2inpaint.engine.inference import iter_denoise
from napari_noise2inpaint.errors import InputError
from napari_noise2inpaint.images.files import is_pattern, remove_stale_temp_files, resolved
from napari_noise2inpaint.images.io import (
    PILLOW_SUFFIXES,
    TIFF_SUFFIXES,
    guess_axes,
    read_image,
    write_tiff,
)
from napari_noise2inpaint.images.pixel_sizes import tiff_pixel_metadata
from napari_noise2inpaint.trust.uncertainty import check_masks, iter_denoise_with_uncertainty

if TYPE_CHECKING:
    from napari_noise2inpaint.engine.model_parts import ModelParts

IMAGE_SUFFIXES = TIFF_SUFFIXES + PILLOW_SUFFIXES
OUTPUT_SUFFIX = ".tif"


@dataclass
class BatchItem:
    """What happened to one input file.

    Attributes
    ----------
    path : pathlib.Path
        The input file.
    index, total : int
        Its position (from 0) and the number of files.
    result, uncertainty : numpy.ndarray or None
        The denoised image (and its uncertainty when asked for); None after an error or a skip.
    output, uncertainty_output : pathlib.Path or None
        The files written (with ``out``).
    error : str or None
        One sentence when the file failed.
    skipped : bool
        The output existed and ``skip_existing`` was set.
    """

    path: Path
    index: int
    total: int
    result: np.ndarray | None = None
    uncertainty: np.ndarray | None = None
    output: Path | None = None
    uncertainty_output: Path | None = None
    error: str | None = None
    skipped: bool = False


@dataclass
class BatchOutcome:
    """What a batch did: the value :func:`iter_batch` returns.

    Attributes
    ----------
    denoised, skipped : list of pathlib.Path
        Inputs denoised (and written, with ``out``), and inputs skipped.
    failed : dict of pathlib.Path to str
        Inputs that failed, with the error's sentence.
    not_done : list of pathlib.Path
        Inputs left when the stop event was set, in order; this run wrote nothing for them
        (the file it was denoising is among them).
    """

    denoised: list[Path] = field(default_factory=list)
    skipped: list[Path] = field(default_factory=list)
    failed: dict[Path, str] = field(default_factory=dict)
    not_done: list[Path] = field(default_factory=list)

    @property
    def stopped(self) -> bool:
        """Whether the stop event ended the batch before its last file."""
        return bool(self.not_done)

    def add(self, item: BatchItem) -> None:
        """Count one finished item."""
        if item.error:
            self.failed[item.path] = item.error
        elif item.skipped:
            self.skipped.append(item.path)
        else:
            self.denoised.append(item.path)


@dataclass(frozen=True)
class _Run:
    """What every file of a batch is denoised with."""

    model: ModelParts
    uncertainty: bool
    masks: int
    keep_results: bool
    progress: Callable | None
    stop_event: threading.Event | None
    options: dict

    @property
    def stopping(self) -> bool:
        return self.stop_event is not None and self.stop_event.is_set()


def collect_inputs(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, folders (their images, not recursive) and glob patterns into files.

    An existing path is a path, never a pattern: ``cell[1].tif`` is that file.

    Parameters
    ----------
    sources : path-like or iterable of path-like
        Files, folders or glob patterns such as ``"plate/*.tif"``.

    Returns
    -------
    list of pathlib.Path
        The files in the order given (each folder and pattern sorted), without repeats.

    Raises
    ------
    InputError
        A source matches nothing.
    """
    if isinstance(sources, (str, os.PathLike)):
        sources = [sources]
    files: dict[Path, None] = {}
    for source in sources:
        found = _expand(Path(source))
        if not found:
            raise InputError(f"{source} matches no image file ({', '.join(IMAGE_SUFFIXES)}).")
        files.update(dict.fromkeys(found))
    return list(files)


def _expand(source: Path) -> list[Path]:
    if source.is_dir():
        return sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if is_pattern(source):
        matches = sorted(Path(p) for p in glob.glob(str(source)))
        return [p for p in matches if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return [source] if os.path.lexists(source) else []


def output_path(path: Path, out: Path, suffix: str = "") -> Path:
    """Where the result of ``path`` goes in folder ``out``: same stem, ``suffix``, ``.tif``."""
    return Path(out) / f"{path.stem}{suffix}{OUTPUT_SUFFIX}"


def iter_batch(
    model: ModelParts,
    sources,
    *,
    out: str | os.PathLike | None = None,
    skip_existing: bool = False,
    overwrite: bool = False,
    uncertainty: bool = False,
    uncertainty_out: str | os.PathLike | None = None,
    masks: int = 8,
    keep_results: bool = True,
    progress=None,
    reads: Iterable[str | os.PathLike] = (),
    stop_event: threading.Event | None = None,
    **kwargs,
) -> Generator[BatchItem, None, BatchOutcome]:
    """Denoise files one after the other, yielding a :class:`BatchItem` per file.

    Parameters
    ----------
    model : TrainedModel
        The trained model.
    sources : path-like or iterable of path-like
        Files, folders and glob patterns (see :func:`collect_inputs`).
    out : path-like, optional
        Existing folder for float32 TIFFs named after the inputs (``<stem>.tif``, and
        ``<stem>_uncertainty.tif``), with the input TIFF's pixel sizes and unit. Temporary
        files that killed runs left there are removed first.
    skip_existing : bool
        With ``out``: skip inputs whose result already exists (resume a batch).
    overwrite : bool
        With ``out``: replace existing results; otherwise an existing result (without
        ``skip_existing``) stops the batch before it starts.
    uncertainty : bool
        Also compute the uncertainty (``masks`` more forward passes per image).
    uncertainty_out : path-like, optional
        Existing folder for the uncertainty files; defaults to ``out``.
    masks : int
        Number of masks for the uncertainty (2 to ``MAX_MASKS``).
    keep_results : bool
        Put the arrays into the items; False keeps only the written files (with ``out``).
    progress : callable, optional
        Called with ``(index, total, DenoiseProgress)`` during each image.
    reads : iterable of path-like
        Other files the run reads (a model file): never written, ``overwrite`` or not.
    stop_event : threading.Event, optional
        Checked before each file and after each batch of tiles; when set, the batch ends
        without an item for the file being denoised, and nothing of that file is written.
        Results written before stay, complete (each file is written atomically).
    **kwargs
        Passed to :func:`napari_noise2inpaint.iter_denoise` (channel_axis, device, ...).

    Yields
    ------
    BatchItem
        One per input file done, in order.

    Returns
    -------
    BatchOutcome
        The files denoised, skipped and failed, and those left by a stop.

    Raises
    ------
    InputError
        Before the first file: no input, a missing output folder, masks out of range, or a
        result that would replace an input, a file in ``reads`` or (without ``overwrite``
        or ``skip_existing``) an existing file.
    """
    if uncertainty:
        check_masks(masks)
    files = collect_inputs(sources)
    uncertainty_out = Path(uncertainty_out or out) if uncertainty and out is not None else None
    if out is not None:
        _prepare_out(files, Path(out), uncertainty_out, reads, overwrite or skip_existing)
    run = _Run(model, uncertainty, masks, keep_results, progress, stop_event, kwargs)
    outcome = BatchOutcome()
    for index, path in enumerate(files):
        item = _item(path, index, len(files), out, uncertainty_out)
        if run.stopping or not _handle(run, item, skip_existing):
            outcome.not_done = files[index:]
            break
        outcome.add(item)
        yield item
    return outcome


def _prepare_out(files, out: Path, uncertainty_out: Path | None, reads, existing_ok) -> None:
    """Check the output names, then remove the temporary files killed runs left."""
    names = _output_names(files, out, uncertainty_out)
    _check_out(names, [*files, *reads], existing_ok)
    for folder in (out, uncertainty_out or out):
        remove_stale_temp_files(folder)


def _item(path: Path, index: int, total: int, out, uncertainty_out) -> BatchItem:
    item = BatchItem(path, index, total)
    if out is not None:
        item.output = output_path(path, Path(out))
    if uncertainty_out is not None:
        item.uncertainty_output = output_path(path, uncertainty_out, "_uncertainty")
    return item


def _handle(run: _Run, item: BatchItem, skip_existing: bool) -> bool:
    """Skip, denoise or fail ``item``; return False when stopped during it."""
    if skip_existing and item.output is not None and _done(item):
        item.skipped = True
        return True
    try:
        finished = _process(run, item)
    except (InputError, OSError, RuntimeError, MemoryError) as error:
        item.error = _one_line(error)
        item.output = item.uncertainty_output = None
        finished = True
    if not run.keep_results:
        item.result = item.uncertainty = None
    return finished


def _output_names(files: list[Path], out: Path, uncertainty_out: Path | None) -> list[Path]:
    for folder in (out, uncertainty_out):
        if folder is not None and not folder.is_dir():
            raise InputError(f"Output folder {folder} does not exist.")
    names = [output_path(path, out) for path in files]
    if uncertainty_out is not None:
        names += [output_path(path, uncertainty_out, "_uncertainty") for path in files]
    if len({resolved(name) for name in names}) < len(names):
        raise InputError("Two inputs would give the same output name; denoise them separately.")
    return names


def _check_out(names: list[Path], reads: list, existing_ok: bool) -> None:
    """Refuse results that would replace a file read, or an existing file unless allowed."""
    read_paths = {resolved(path) for path in reads}
    read_ids = {_file_id(path) for path in reads} - {None}
    for name in names:
        if resolved(name) in read_paths or _file_id(name) in read_ids:
            raise InputError(f"The result {name} would replace a file this run reads.")
    existing = [name for name in names if os.path.lexists(name)]
    if existing and not existing_ok:
        raise InputError(
            f"{len(existing)} result(s) exist already, such as {existing[0]}; add --overwrite "
            "(overwrite=True) to replace them or --skip-existing to keep them."
        )


def _file_id(path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except (OSError, ValueError):
        return None
    return status.st_dev, status.st_ino


def _done(item: BatchItem) -> bool:
    wanted = [item.output, item.uncertainty_output]
    return all(path.is_file() for path in wanted if path is not None)


def _process(run: _Run, item: BatchItem) -> bool:
    """Denoise and write ``item``; return False, with nothing written, when stopped."""
    image = read_image(item.path)
    if run.uncertainty:
        generator = iter_denoise_with_uncertainty(run.model, image, masks=run.masks, **run.options)
    else:
        generator = iter_denoise(run.model, image, **run.options)

    def report(event) -> None:
        if run.progress is not None and isinstance(event, DenoiseProgress):
            run.progress(item.index, item.total, event)

    result = _run_unless_stopped(generator, report, run)
    del image
    if result is None:
        return False
    item.result, item.uncertainty = result if run.uncertainty else (result, None)
    if item.output is not None:
        write_result(item.output, item.result, item.path)
        if run.uncertainty:
            write_result(item.uncertainty_output, item.uncertainty, item.path)
    return True


def _run_unless_stopped(generator: Generator, on_event: Callable, run: _Run):
    """Return what ``generator`` returns, or None (the generator closed) once stopped."""
    while not run.stopping:
        try:
            event = next(generator)
        except StopIteration as done:
            return done.value
        on_event(event)
    generator.close()
    return None


def write_result(path: Path, result: np.ndarray, source: Path) -> Path:
    """Write ``result`` as a float32 TIFF with the pixel sizes and unit of ``source``.

    Parameters
    ----------
    path : pathlib.Path
        The file to write (atomically); never ``source``.
    result : numpy.ndarray
        A result of the same shape as the image in ``source``.
    source : pathlib.Path
        The input file; its pixel sizes are kept when it is a TIFF that has them.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    ndim = len(guess_axes(result.shape).replace("S", ""))
    scale, unit = tiff_pixel_metadata(source, ndim)
    return write_tiff(path, result, scale=scale, unit=unit, source=source)


def pixel_scale(path: Path, ndim: int) -> tuple[float, ...] | None:
    """Pixel sizes of a TIFF's axes (from its metadata alone), or None when unknown."""
    return tiff_pixel_metadata(path, ndim)[0]


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
