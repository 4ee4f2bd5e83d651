"""Exceptions raised for bad input, with messages meant for users."""


class InputError(ValueError):
    """The user's data or settings cannot be used; the message says why in one sentence."""


class ModelFileError(InputError):
    """A model file is missing, damaged or was not written by napari-noise2inpaint."""
