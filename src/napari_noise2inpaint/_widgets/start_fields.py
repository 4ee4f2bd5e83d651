"""Where training starts: the built-in prior, a saved model or scratch."""

from __future__ import annotations

from pathlib import Path

from magicgui.widgets import ComboBox, FileEdit

from napari_noise2inpaint import InputError, load_model
from napari_noise2inpaint.modelfiles.loading import BUILTIN

SAVED = "saved"
SCRATCH = "scratch"
START_CHOICES = [("built-in prior", BUILTIN), ("a saved model", SAVED), ("scratch", SCRATCH)]


class StartFields:
    """A "start from" picker and, for "a saved model", its file; :meth:`model` loads it.

    The default is the built-in prior when it loads, scratch otherwise. Loaded models are
    kept (a model file is read again only when its path or modification time changes).
    """

    def __init__(self):
        self._cache: dict[tuple, object] = {}
        self.start_from = ComboBox(label="start from", choices=START_CHOICES, value=SCRATCH)
        self.start_file = FileEdit(label="start model", mode="r", filter="*.safetensors *.zip")
        self.widgets = [self.start_from, self.start_file]
        self.start_from.changed.connect(self._show_file)
        try:
            self.model(BUILTIN)
        except (InputError, OSError):
            pass  # no prior in this installation: start from scratch
        else:
            self.start_from.value = BUILTIN
        self._show_file()

    def _show_file(self, *_args) -> None:
        self.start_file.visible = self.start_from.value == SAVED

    def model(self, choice: str | None = None):
        """Return the starting model of ``choice`` (default: the chosen one), or None.

        Raises
        ------
        InputError
            No model file was chosen, or it cannot be read.
        """
        choice = self.start_from.value if choice is None else choice
        if choice == SCRATCH:
            return None
        if choice == BUILTIN:
            key = (BUILTIN,)
        else:
            path = Path(self.start_file.value)
            if path.is_dir() or not path.exists():  # an empty FileEdit holds a folder
                raise InputError("Choose the model file to start from first.")
            key = (str(path), path.stat().st_mtime_ns)
        if key not in self._cache:
            self._cache[key] = load_model(key[0])
        return self._cache[key]
