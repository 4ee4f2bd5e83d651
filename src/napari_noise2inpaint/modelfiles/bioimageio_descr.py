"""The bioimage.io model description (spec 0.5) of an exported package, built from its files.

Used by :func:`napari_noise2inpaint.modelfiles.bioimageio_export.export_bioimageio`; the package's
architecture is named as ``napari_noise2inpaint.bioimageio_arch.Noise2InpaintPipeline``.
"""

from __future__ import annotations

from pathlib import Path

import torch

from napari_noise2inpaint.modelfiles.model_card import CITATION, CITATION_DOI
from napari_noise2inpaint.modelfiles.packages import INFO_FILE, MODEL_FILE, STATE_DICT_FILE

TORCHSCRIPT_FILE = "weights_torchscript.pt"
MIN_SIZE_STEPS = 4  # smallest accepted Y, X: 4 * 2 ** depth


def _tensors(v, step: int, folder: Path, shape, fixed: bool):
    """Describe the input and output tensors (raw units; sizes fixed or multiples of step)."""
    if fixed:
        sizes = {"y": shape[2], "x": shape[3]}
    else:
        sizes = {
            axis: v.ParameterizedSize(min=MIN_SIZE_STEPS * step, step=step) for axis in ("y", "x")
        }
    channel_names = [f"channel{i}" for i in range(shape[1])]
    input_axes = [
        v.BatchAxis(),
        v.ChannelAxis(channel_names=channel_names),
        *(v.SpaceInputAxis(id=v.AxisId(a), size=sizes[a]) for a in ("y", "x")),
    ]
    output_axes = [
        v.BatchAxis(),
        v.ChannelAxis(channel_names=channel_names),
        *(
            v.SpaceOutputAxis(id=v.AxisId(a), size=v.SizeReference(tensor_id="raw", axis_id=a))
            for a in ("y", "x")
        ),
    ]
    data = v.IntervalOrRatioDataDescr(type="float32")
    inputs = v.InputTensorDescr(
        id=v.TensorId("raw"),
        description="noisy image in raw intensity units",
        axes=input_axes,
        test_tensor=v.FileDescr(source=folder / "test_input.npy"),
        sample_tensor=v.FileDescr(source=folder / "sample_input.tif"),
        data=data,
    )
    outputs = v.OutputTensorDescr(
        id=v.TensorId("denoised"),
        description="denoised image in raw intensity units",
        axes=output_axes,
        test_tensor=v.FileDescr(source=folder / "test_output.npy"),
        sample_tensor=v.FileDescr(source=folder / "sample_output.tif"),
        data=data,
    )
    return inputs, outputs


def _torchscript(v, folder: Path, torch_version):
    """Describe the TorchScript weights, or None when the package has none."""
    if not (folder / TORCHSCRIPT_FILE).is_file():
        return None
    return v.TorchscriptWeightsDescr(
        source=folder / TORCHSCRIPT_FILE,
        pytorch_version=torch_version,
        parent="pytorch_state_dict",
        comment="torch.jit.trace of the pytorch_state_dict pipeline",
    )


def describe(spec, model, folder: Path, shape, fixed, info, name, authors):
    """Return the ``ModelDescr`` of the package whose files are in ``folder``.

    TorchScript weights are declared when ``folder`` holds them.

    Parameters
    ----------
    spec : dict
        ``{"v0_5": bioimageio.spec.model.v0_5, ...}``.
    model : TrainedModel
        The exported model.
    folder : pathlib.Path
        Where the package's files were written.
    shape : tuple of int
        Shape ``(1, C, Y, X)`` of the test tensor.
    fixed : bool
        Whether Y and X are fixed to the test tensor's (correlated noise) or any multiple.
    info : dict
        The package's ``noise2inpaint.json`` content.
    name : str or None
        Model name (default "Noise2Inpaint denoiser").
    authors : list of str or None
        Author names.
    """
    v = spec["v0_5"]
    inputs, outputs = _tensors(v, 2**model.config.depth, folder, shape, fixed)
    torch_version = v.Version(torch.__version__.split("+")[0])
    architecture = v.ArchitectureFromLibraryDescr(
        import_from="napari_noise2inpaint.bioimageio_arch",
        callable=v.Identifier("Noise2InpaintPipeline"),
        kwargs=info["pipeline"],
    )
    weights = v.WeightsDescr(
        pytorch_state_dict=v.PytorchStateDictWeightsDescr(
            source=folder / STATE_DICT_FILE,
            architecture=architecture,
            pytorch_version=torch_version,
        ),
        torchscript=_torchscript(v, folder, torch_version),
    )
    card = info["card"]
    return v.ModelDescr(
        name=name or "Noise2Inpaint denoiser",
        description=(
            f"Self-supervised denoiser ({card['method_name']}, K={card['unrolls']}, "
            f"rho={card['rho']}, {card['noise_model']['model']} noise), raw units in and out."
        ),
        authors=[v.Author(name=a) for a in (authors or ["napari-noise2inpaint user"])],
        cite=[v.CiteEntry(text=CITATION, doi=v.Doi(CITATION_DOI))],
        license=v.LicenseId("BSD-3-Clause"),
        documentation=v.FileDescr(source=folder / "README.md"),
        covers=[v.FileDescr(source=folder / "cover.png")],
        attachments=[
            v.FileDescr(source=folder / INFO_FILE),
            v.FileDescr(source=folder / MODEL_FILE),
        ],
        tags=["denoising", "self-supervised", "noise2inpaint", "2d", "pytorch"],
        inputs=[inputs],
        outputs=[outputs],
        weights=weights,
        config=v.Config(napari_noise2inpaint=info),
    )
