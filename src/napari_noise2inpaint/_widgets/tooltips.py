"""Plain-language help for every field of the training widget, shown as tooltips."""

from __future__ import annotations

TOOLTIPS = {
    "image": "The image layer to denoise. It is copied: the layer itself is never changed.",
    "start_from": (
        "Where training starts. The built-in prior is a network already trained on many noisy "
        "images: it denoises at once (Denoise now), and Train adapts it to your data. "
        "Scratch starts from an untrained network."
    ),
    "start_file": "The saved model (.safetensors or BioImage Model Zoo .zip) to start from.",
    "mode": (
        "2D planes: each plane is denoised on its own. 3D: the last three axes (Z, Y, X) are "
        "one volume, for Z stacks whose planes are alike."
    ),
    "rho": "Fraction of pixels held out for the loss; keep 0.05.",
    "unrolls": "Network iterations: more is better and slower.",
    "length_unit": "Count the training length in steps (a batch each) or passes over the data.",
    "length": "How long to train, in the unit chosen above; the time limit may end it earlier.",
    "time_limit": (
        "The most minutes of training; preparing the data and the final denoising come on "
        "top (the time left shown counts them). 0 means no limit."
    ),
    "method": "N2I (Noise2Inpaint) is this plugin's method; Noise2Void is there for comparison.",
    "patch_size": "Side in pixels of the image pieces trained on: larger sees more, is slower.",
    "patch_depth": "Planes per image piece in 3D mode.",
    "batch_size": "Image pieces per training step: more gives steadier steps, each slower.",
    "learning_rate": "How far each training step moves the network; the default suits most data.",
    "features": "Width of the network: more can denoise better and is slower.",
    "seed": "Starting point of the random choices: the same seed gives the same result on a CPU.",
    "val_fraction": "Share of the data kept aside to check the network (validation loss).",
    "device": "Where to compute: auto picks a GPU when there is one.",
    "channel_axis": "The axis holding colour channels, if any; each channel is scaled on its own.",
}

NOISE_TOOLTIPS = {
    "model": (
        "What the noise is like. White Gaussian: the same everywhere. Poisson-Gaussian: camera "
        "photon noise, stronger in bright areas (usual for fluorescence). Correlated Gaussian: "
        "noise that spreads over neighbouring pixels."
    ),
    "estimate": "Measure the camera's gain and offset from the image itself.",
    "gain": "Camera counts per photon: the noise variance is gain x signal + offset.",
    "offset": "Noise variance at zero signal (read noise), in counts squared.",
    "region": "A Shapes layer with a rectangle on background, where the noise is measured.",
}

BUTTON_TOOLTIPS = {
    "denoise_button": (
        "Denoise the chosen image at once, without training: with the current model, or else "
        "with the model chosen under 'start from'. The result is a new layer."
    ),
    "train_button": (
        "Train the network on the chosen image, then denoise it into a new layer. The live "
        "preview and the loss curve show how training goes."
    ),
    "stop_button": (
        "Stop training now: the network trained so far is kept and denoises the image. "
        "During denoising, Stop cancels it."
    ),
    "save_button": (
        "Save the current model to a file: the trained or loaded one, or else the one "
        "Denoise now used (for example the built-in prior)."
    ),
    "load_button": "Open a saved model file (.safetensors or BioImage Model Zoo .zip).",
    "export_button": (
        "Save the current model as a BioImage Model Zoo package (.zip), with the image in "
        "view as its example, to share it or use it in other programs."
    ),
    "advanced": "More settings: the method, the network size, the noise model and the device.",
}

DENOISE_TOOLTIPS = {
    "model_source": (
        "The model that denoises: the built-in prior (trained on many noisy images, works "
        "at once) or a model file you saved."
    ),
    "model_file": "The saved model (.safetensors or BioImage Model Zoo .zip) to denoise with.",
    "image": "The image layer to denoise. It is copied: the layer itself is never changed.",
    "device": "Where to compute: auto picks a GPU when there is one.",
    "run_button": "Denoise the chosen image with the chosen model into a new layer.",
}

BATCH_TOOLTIPS = {
    "model_source": (
        "The model that denoises: the built-in prior (works at once), a model file you "
        "saved, or the model of the Noise2Inpaint widget (trained or loaded there)."
    ),
    "model_file": "The saved model (.safetensors or BioImage Model Zoo .zip) to denoise with.",
    "layers": "The image layers to denoise, one after the other; each gets a new layer.",
    "uncertainty": (
        "Also add a layer showing where the result is unsure (bright = less sure). "
        "Takes a few times longer."
    ),
    "masks": "Masks for the uncertainty: each costs one more pass of the network.",
    "residual": (
        "Also add the removed noise (input minus result) as a layer, and check that it looks "
        "like noise only, without traces of the structures."
    ),
    "device": "Where to compute: auto picks a GPU when there is one.",
    "apply_layers": "Denoise the chosen layers into new layers.",
    "in_folder": "A folder of images (TIFF, PNG, JPEG) to denoise; the images are not changed.",
    "out_folder": "Where the denoised TIFFs go. Empty: a folder 'N2I' inside the input folder.",
    "existing": (
        "Results of these images already in the output folder: stop and change nothing, "
        "skip them (resume a run) or replace them. Input images are never replaced."
    ),
    "apply_folder": "Denoise every image of the input folder into the output folder.",
    "stop_button": "Stop the run: results already finished are kept.",
    "report_layer": "The image layer whose noise is measured.",
    "report_button": "Measure the noise of the chosen layer and say which noise model suits it.",
}


def apply_tooltips(owner, tooltips: dict[str, str]) -> None:
    """Set the tooltip of each of ``owner``'s fields named in ``tooltips``."""
    for name, text in tooltips.items():
        getattr(owner, name).tooltip = text
