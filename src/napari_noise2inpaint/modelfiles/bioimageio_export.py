"""Share models through the BioImage Model Zoo: export a package, load one back.

:func:`export_bioimageio` writes a bioimage.io model package (format 0.5, built with
``bioimageio.spec``) holding PyTorch state-dict weights of the whole inference pipeline
(normalisation, unrolled network, data-consistency steps: raw intensities in and out) and, for
models normalised by their training data's statistics, TorchScript weights of it; test
tensors, a cover image and a documentation page generated from the :func:`model_card`.
Models that normalise each image (the built-in prior) get no TorchScript weights: their
pipeline estimates each image's noise with NumPy, which a trace would freeze to the test
image's (see :mod:`napari_noise2inpaint.modelfiles.bioimageio_arch`).
:func:`load_bioimageio` reads such a package back as a :class:`TrainedModel` without needing
``bioimageio`` installed.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

import numpy as np
import tifffile
import torch

from napari_noise2inpaint._version import __version__
from napari_noise2inpaint.errors import InputError, ModelFileError
from napari_noise2inpaint.model import TrainedModel
from napari_noise2inpaint.modelfiles.bioimageio_arch import (
    Noise2InpaintPipeline,
    build_pipeline,
    pipeline_kwargs,
)
from napari_noise2inpaint.modelfiles.bioimageio_descr import (
    MIN_SIZE_STEPS,
    TORCHSCRIPT_FILE,
    describe,
)
from napari_noise2inpaint.modelfiles.checkpoint import save_model
from napari_noise2inpaint.modelfiles.loading import load_bioimageio  # noqa: F401 (public here)
from napari_noise2inpaint.modelfiles.model_card import card_markdown, cover_image, model_card
from napari_noise2inpaint.modelfiles.packages import (  # noqa: F401 (package_metadata: public here)
    INFO_FILE,
    MODEL_FILE,
    PACKAGE_FORMAT,
    PACKAGE_FORMAT_VERSION,
    STATE_DICT_FILE,
    package_metadata,
)
from napari_noise2inpaint.noise import CorrelatedNoise, from_config

TEST_SIDE = 64
PER_IMAGE_NOTE = (
    "Every image is normalised by its own mean and standard deviation, and its noise is "
    "estimated from it, inside the network (as napari-noise2inpaint's denoise does); so the "
    "package has PyTorch state-dict weights only, no TorchScript weights."
)


def export_bioimageio(
    model: TrainedModel,
    path: str | os.PathLike,
    *,
    image: np.ndarray | None = None,
    name: str | None = None,
    authors: list[str] | None = None,
) -> Path:
    """Write ``model`` as a BioImage Model Zoo package (zip), atomically.

    Parameters
    ----------
    model : TrainedModel
        A trained model.
    path : str or path-like
        Destination ``.zip`` file; written through a temporary file in the same folder, so a
        failure leaves no partial file.
    image : numpy.ndarray, optional
        Example noisy image for the test tensors and cover: ``(Y, X)``, or ``(C, Y, X)`` for a
        C-channel model, in raw intensity units. Synthesised from the training statistics
        when omitted.
    name : str, optional
        Model name shown by bioimage.io (default "Noise2Inpaint denoiser").
    authors : list of str, optional
        Author names (default "napari-noise2inpaint user").

    Returns
    -------
    pathlib.Path
        The written package.

    Raises
    ------
    InputError
        ``bioimageio.spec`` is not installed, the model is untrained or damaged, or ``path``
        cannot be written.
    """
    spec = _import_spec()
    path = Path(path)
    _check_target(path)
    _check_model(model)
    pipeline = build_pipeline(model)
    test_input = _test_input(model, image)
    with torch.no_grad():
        test_output = pipeline(torch.from_numpy(test_input)).numpy()
    traced = None if pipeline.per_image else _trace(pipeline, test_input, test_output)
    fixed = _fixed_size(model)
    with tempfile.TemporaryDirectory(prefix="n2i-bioimageio-") as folder:
        folder = Path(folder)
        info = _write_files(folder, model, pipeline, traced, (test_input, test_output), fixed)
        tmp = path.parent / f".{path.name}.{os.getpid()}.tmp.zip"
        try:
            with _closing_leaked_files():
                descr = describe(spec, model, folder, test_input.shape, fixed, info, name, authors)
                spec["save_package"](descr, output_path=tmp)
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    return path


def _write_files(folder: Path, model, pipeline, traced, tests, fixed: bool) -> dict:
    """Write the package's files into ``folder``; return its ``noise2inpaint.json`` info.

    ``traced`` is the TorchScript pipeline, or None for a package without TorchScript weights.
    """
    test_input, test_output = tests
    torch.save(pipeline.state_dict(), folder / STATE_DICT_FILE)
    save_model(model, folder / MODEL_FILE)
    if traced is not None:
        traced.save(str(folder / TORCHSCRIPT_FILE))
    np.save(folder / "test_input.npy", test_input)
    np.save(folder / "test_output.npy", test_output)
    tifffile.imwrite(folder / "sample_input.tif", test_input[0])
    tifffile.imwrite(folder / "sample_output.tif", test_output[0])
    cover_image(test_input[0, 0], test_output[0, 0]).save(folder / "cover.png")
    card = model_card(model)
    notes = [_size_note(model, test_input.shape[-2:], fixed)]
    if pipeline.per_image:
        notes.append(PER_IMAGE_NOTE)
    (folder / "README.md").write_text(card_markdown(card, notes), encoding="utf-8")
    info = _package_info(model, card)
    (folder / INFO_FILE).write_text(json.dumps(info, indent=2, default=str), "utf-8")
    return info


@contextlib.contextmanager
def _closing_leaked_files():
    """Silence and collect the file handles bioimageio.spec leaves open when hashing files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        try:
            yield
        finally:
            gc.collect()


def _import_spec() -> dict:
    try:
        from bioimageio.spec import save_bioimageio_package
        from bioimageio.spec.model import v0_5
    except ImportError:
        raise InputError(
            "BioImage Model Zoo export needs bioimageio.spec: "
            "pip install 'napari-noise2inpaint[bioimageio]'."
        ) from None
    return {"v0_5": v0_5, "save_package": save_bioimageio_package}


def _check_target(path: Path) -> None:
    if path.suffix.lower() != ".zip":
        raise InputError(f"A bioimage.io package is a .zip file; got {path}.")
    if path.is_dir():
        raise InputError(f"{path} is a folder; give a .zip file name.")
    if not path.parent.is_dir():
        raise InputError(f"Cannot write {path}: folder {path.parent} does not exist.")
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise InputError(f"Cannot write {path}: folder {path.parent} is not writable.")


def _check_model(model: TrainedModel) -> None:
    if not isinstance(model, TrainedModel):
        raise InputError(f"Expected a TrainedModel, got {type(model).__name__}.")
    if not model.history.get("steps"):
        raise InputError("The model is untrained (no training steps recorded); train it first.")
    if model.config.spatial_dims != 2:
        raise InputError(
            "BioImage Model Zoo export supports 2D models only; this model is 3D "
            "(use it with this plugin's denoise instead)."
        )
    for key, tensor in model.network.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise ModelFileError(f"The model is damaged: weight {key} has NaN or Inf values.")
    stats = [*model.means, *model.stds]
    if not stats or not all(math.isfinite(v) for v in stats) or min(model.stds) <= 0:
        raise ModelFileError("The model is damaged: its normalisation statistics are invalid.")


def _test_input(model: TrainedModel, image) -> np.ndarray:
    """Return a ``(1, C, Y, X)`` float32 test tensor, Y and X multiples of ``2 ** depth``."""
    channels = len(model.means)
    multiple = 2**model.config.depth
    if image is None:
        rng = np.random.default_rng(model.config.seed)
        yy, xx = np.mgrid[0:TEST_SIDE, 0:TEST_SIDE] / TEST_SIDE
        pattern = np.sin(6 * yy) * np.cos(4 * xx)
        planes = [
            mean + std * (pattern + 0.5 * rng.standard_normal(pattern.shape))
            for mean, std in zip(model.means, model.stds, strict=True)
        ]
        return np.stack(planes)[None].astype(np.float32)
    array = np.asarray(image, dtype=np.float32)
    axis = model.data_info.get("channel_axis")
    if channels > 1 and axis is not None and array.ndim == 3 and array.shape[0] != channels:
        array = np.moveaxis(array, axis, 0)
    if channels == 1 and array.ndim > 2:
        array = array.reshape(-1, *array.shape[-2:])[:1]  # the first plane of a stack
    if array.ndim == 2:
        array = array[None]
    if array.ndim != 3 or array.shape[0] != channels:
        raise InputError(
            f"The example image must be (Y, X) or (C, Y, X) with C = {channels} channels; "
            f"got shape {np.shape(image)}."
        )
    side = [min(256, s - s % multiple) for s in array.shape[-2:]]
    if min(side) < multiple or not np.isfinite(array).all():
        raise InputError(f"The example image must be finite and at least {multiple} px wide.")
    return np.ascontiguousarray(array[None, :, : side[0], : side[1]])


def _trace(pipeline: Noise2InpaintPipeline, test_input: np.ndarray, expected: np.ndarray):
    example = torch.from_numpy(test_input)
    with warnings.catch_warnings():
        # shape-dependent Python branches are fixed by declaring sizes in multiples of
        # 2 ** depth; torch also flags torch.jit as deprecated in favour of torch.export
        warnings.simplefilter("ignore")
        traced = torch.jit.trace(pipeline, example, check_trace=False)
        with torch.no_grad():
            result = traced(example).numpy()
    tolerance = 1e-4 * max(1.0, float(np.abs(expected).max()))
    if result.shape != expected.shape or not np.allclose(result, expected, atol=tolerance):
        raise RuntimeError("The TorchScript trace does not reproduce the eager pipeline.")
    return traced


def _fixed_size(model: TrainedModel) -> bool:
    """Whether the package takes one image size: that of the traced correlated-noise pipeline.

    Its noise spectrum depends on the size and the trace keeps the test image's. Models that
    normalise each image are not traced; their noise models are built for every image.
    """
    if model.normalises_each_image:
        return False
    return isinstance(from_config(model.config), CorrelatedNoise)


def _size_note(model: TrainedModel, shape, fixed: bool) -> str:
    if fixed:
        return (
            f"Correlated-noise models are exported for a fixed tile size of {shape[0]} x "
            f"{shape[1]} px (the noise spectrum depends on the size); larger images are tiled."
        )
    step = 2**model.config.depth
    return f"Y and X must be multiples of {step} px (at least {MIN_SIZE_STEPS * step} px)."


def _package_info(model: TrainedModel, card: dict) -> dict:
    return {
        "format": PACKAGE_FORMAT,
        "format_version": PACKAGE_FORMAT_VERSION,
        "package_version": __version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "state_dict": STATE_DICT_FILE,
        "model_file": MODEL_FILE,
        "pipeline": pipeline_kwargs(model),
        "history": model.history,
        "data": model.data_info,
        "card": card,
    }
