"""Denoising many files: an iterator over ``(path, result or error)``, one image at a time.

Memory is bounded by one image (and its result): nothing is kept between files. One file that
cannot be read or denoised gives an item with its error and the others go on.

Examples
--------
>>> for item in iter_batch(model, "data/*.tif", out="denoised"):  # doctest: +SKIP
...     print(item.path, item.error or item.output)
"""

from __future__ import annotations

import glob
import os
from collections.abc import Generator, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tifffile

from ._reader import _pixel_sizes
from .errors import InputError
from .events import DenoiseProgress, run_to_end
from .inference import iter_denoise
from .io import PILLOW_SUFFIXES, TIFF_SUFFIXES, read_image, write_tiff
from .uncertainty import iter_denoise_with_uncertainty

if TYPE_CHECKING:
    from .model import TrainedModel

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


def collect_inputs(sources: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """Expand files, folders (their images, not recursive) and glob patterns into files.

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
    if glob.has_magic(str(source)):
        matches = sorted(Path(p) for p in glob.glob(str(source)))
        return [p for p in matches if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    return [source] if source.exists() else []


def output_path(path: Path, out: Path, suffix: str = "") -> Path:
    """Where the result of ``path`` goes in folder ``out``: same stem, ``suffix``, ``.tif``."""
    return Path(out) / f"{path.stem}{suffix}{OUTPUT_SUFFIX}"


def iter_batch(
    model: TrainedModel,
    sources,
    *,
    out: str | os.PathLike | None = None,
    skip_existing: bool = False,
    uncertainty: bool = False,
    uncertainty_out: str | os.PathLike | None = None,
    masks: int = 8,
    keep_results: bool = True,
    progress=None,
    **kwargs,
) -> Generator[BatchItem, None, None]:
    """Denoise files one after the other, yielding a :class:`BatchItem` per file.

    Parameters
    ----------
    model : TrainedModel
        The trained model.
    sources : path-like or iterable of path-like
        Files, folders and glob patterns (see :func:`collect_inputs`).
    out : path-like, optional
        Existing folder for float32 TIFFs named after the inputs (``<stem>.tif``, and
        ``<stem>_uncertainty.tif``), with the input TIFF's pixel sizes.
    skip_existing : bool
        With ``out``: skip inputs whose result already exists (resume a batch).
    uncertainty : bool
        Also compute the uncertainty (``masks`` more forward passes per image).
    uncertainty_out : path-like, optional
        Existing folder for the uncertainty files; defaults to ``out``.
    masks : int
        Number of masks for the uncertainty.
    keep_results : bool
        Put the arrays into the items; False keeps only the written files (with ``out``).
    progress : callable, optional
        Called with ``(index, total, DenoiseProgress)`` during each image.
    **kwargs
        Passed to :func:`napari_noise2inpaint.iter_denoise` (channel_axis, device, ...).

    Yields
    ------
    BatchItem
        One per input file, in order.
    """
    files = collect_inputs(sources)
    if out is not None:
        uncertainty_out = Path(uncertainty_out or out) if uncertainty else None
        _check_out(files, Path(out), uncertainty_out)
    for index, path in enumerate(files):
        item = BatchItem(path, index, len(files))
        if out is not None:
            item.output = output_path(path, Path(out))
            if uncertainty_out is not None:
                item.uncertainty_output = output_path(path, uncertainty_out, "_uncertainty")
            if skip_existing and _done(item):
                item.skipped = True
                yield item
                continue
        try:
            _process(model, item, uncertainty, masks, progress, kwargs)
        except (InputError, OSError, RuntimeError, MemoryError) as error:
            item.error = _one_line(error)
            item.output = item.uncertainty_output = None
        if not keep_results:
            item.result = item.uncertainty = None
        yield item


def _check_out(files: list[Path], out: Path, uncertainty_out: Path | None) -> None:
    for folder in (out, uncertainty_out):
        if folder is not None and not folder.is_dir():
            raise InputError(f"Output folder {folder} does not exist.")
    names = [output_path(path, out) for path in files]
    if uncertainty_out is not None:
        names += [output_path(path, uncertainty_out, "_uncertainty") for path in files]
    if len(set(names)) < len(names):
        raise InputError("Two inputs would give the same output name; denoise them separately.")
    inputs = {path.resolve() for path in files}
    if any(name.resolve() in inputs for name in names):
        raise InputError(f"Results would overwrite input files in {out}; choose another folder.")


def _done(item: BatchItem) -> bool:
    wanted = [item.output, item.uncertainty_output]
    return all(path.is_file() for path in wanted if path is not None)


def _process(model, item: BatchItem, uncertainty: bool, masks: int, progress, kwargs) -> None:
    image = read_image(item.path)
    if uncertainty:
        generator = iter_denoise_with_uncertainty(model, image, masks=masks, **kwargs)
    else:
        generator = iter_denoise(model, image, **kwargs)

    def report(event) -> None:
        if progress is not None and isinstance(event, DenoiseProgress):
            progress(item.index, item.total, event)

    result = run_to_end(generator, report)
    del image
    item.result, item.uncertainty = result if uncertainty else (result, None)
    if item.output is not None:
        scale = pixel_scale(item.path, item.result.ndim)
        write_tiff(item.output, item.result, scale=scale, source=item.path)
        if uncertainty:
            write_tiff(item.uncertainty_output, item.uncertainty, scale=scale, source=item.path)


def pixel_scale(path: Path, ndim: int) -> tuple[float, ...] | None:
    """Pixel sizes of a TIFF's axes (from its metadata alone), or None when unknown."""
    if Path(path).suffix.lower() not in TIFF_SUFFIXES:
        return None
    try:
        with tifffile.TiffFile(path) as tif:
            axes = tif.series[0].axes
            sizes, _ = _pixel_sizes(tif, axes)
            shaped = (tif.shaped_metadata or [{}])[0]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None
    spatial = axes[:-1] if axes.endswith("S") else axes
    scale = tuple(shaped.get("scale") or (sizes.get(axis, 1.0) for axis in spatial))
    return scale if len(scale) == ndim else None


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__
