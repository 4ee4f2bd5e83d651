"""Which model a denoising widget uses: the built-in prior, a model file, or the trained one.

The training widget publishes its current model with :func:`publish`; the other widgets offer
it as an explicit choice and read it with :func:`published`, without looking at the dock.
"""

from __future__ import annotations

import weakref
from pathlib import Path

from magicgui.widgets import ComboBox, FileEdit

from napari_noise2inpaint import InputError, load_model
from napari_noise2inpaint.modelfiles.loading import BUILTIN

FILE = "file"
TRAINED = "trained"
PRIOR_CHOICE = ("built-in prior", BUILTIN)
FILE_CHOICE = ("a model file", FILE)
TRAINED_CHOICE = ("the Noise2Inpaint widget's model", TRAINED)

#: The current model of each viewer's training widget (trained or loaded there).
_PUBLISHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def publish(viewer, model) -> None:
    """Make ``model`` the training widget's model of ``viewer`` (None: there is none)."""
    if model is None:
        _PUBLISHED.pop(viewer, None)
    else:
        _PUBLISHED[viewer] = model


def published(viewer):
    """Return the training widget's current model in ``viewer``, or None."""
    return _PUBLISHED.get(viewer)


def chosen_path(edit: FileEdit) -> Path | None:
    """Return the file in ``edit``, or None when it is empty or a folder."""
    text = str(edit.value).strip()
    path = Path(text)
    return None if text in ("", ".") or path.is_dir() else path


class ModelChoice:
    """A "model" picker, a model file field shown for "a model file", and :meth:`model`.

    The built-in prior is chosen at first when it loads, else a model file. Picking a file
    chooses "a model file".

    Parameters
    ----------
    viewer : napari.viewer.Viewer
        The viewer whose training widget's model may be chosen.
    trained : bool
        Whether to offer the training widget's model.
    """

    def __init__(self, viewer, trained: bool = False):
        self.viewer = viewer
        self._prior = None
        choices = [PRIOR_CHOICE, FILE_CHOICE] + ([TRAINED_CHOICE] if trained else [])
        self.source = ComboBox(label="model", choices=choices, value=FILE)
        self.file = FileEdit(label="model file", mode="r", filter="*.safetensors *.zip")
        self.widgets = [self.source, self.file]
        self.source.changed.connect(self._show_file)
        self.file.changed.connect(self._choose_file)
        try:
            self._load_prior()
        except (InputError, OSError):
            pass  # no prior in this installation
        else:
            self.source.value = BUILTIN
        self._show_file()

    def _show_file(self, *_args) -> None:
        self.file.visible = self.source.value == FILE

    def _choose_file(self, *_args) -> None:
        if chosen_path(self.file) is not None:
            self.source.value = FILE

    def _load_prior(self):
        if self._prior is None:
            self._prior = load_model(BUILTIN)
        return self._prior

    def chosen_file(self) -> Path | None:
        """Return the model file when "a model file" is chosen (and set), else None."""
        return chosen_path(self.file) if self.source.value == FILE else None

    def model(self):
        """Return the chosen model (a model file is read again: it may have been rewritten).

        Raises
        ------
        InputError
            No file is chosen, it cannot be read, or the training widget has no model.
        """
        if self.source.value == BUILTIN:
            return self._load_prior()
        if self.source.value == TRAINED:
            model = published(self.viewer)
            if model is None:
                raise InputError(
                    "The Noise2Inpaint widget has no model yet: train or load one there first."
                )
            return model
        path = chosen_path(self.file)
        if path is None:
            raise InputError("Choose a model file first.")
        return load_model(path)
