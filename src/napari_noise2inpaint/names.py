"""Display names of the methods and noise models: the one table that widgets and cards use.

Keys are the config's values (:data:`~napari_noise2inpaint.config.METHODS`,
:data:`~napari_noise2inpaint.config.NOISE_MODELS`); a new method or noise model gets its names
here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

#: Short method names, for pickers, layer names and compact cards.
METHOD_NAMES = {"n2i": "N2I", "n2v": "Noise2Void", "supervised": "supervised"}
#: Full method names with what kind of training they are, for model cards.
METHOD_FULL_NAMES = {
    "n2i": "Noise2Inpaint (self-supervised, unrolled inpainting)",
    "n2v": "Noise2Void (self-supervised, blind spot)",
    "supervised": "supervised U-Net (trained on clean targets)",
}
#: Noise model names, written as they read inside a sentence.
NOISE_NAMES = {
    "gaussian": "white Gaussian",
    "poisson_gaussian": "Poisson-Gaussian",
    "correlated": "correlated Gaussian",
    "auto": "from the image",
}


def picker_choices(
    names: Mapping[str, str], keys: Iterable[str] | None = None
) -> list[tuple[str, str]]:
    """Return ``(label, key)`` pairs for a picker, labels starting with a capital letter.

    Parameters
    ----------
    names : mapping of str to str
        One of the tables above.
    keys : iterable of str, optional
        The keys to offer, in order; all of them by default.

    Returns
    -------
    list of tuple of str

    Examples
    --------
    >>> picker_choices(NOISE_NAMES, ["gaussian"])
    [('White Gaussian', 'gaussian')]
    """
    return [(names[key][:1].upper() + names[key][1:], key) for key in keys or names]
