"""napari widgets of Noise2Inpaint; the only place (with the reader and writer) that uses Qt."""

from .denoise_widget import DenoiseWidget
from .train_widget import TrainWidget

__all__ = ["DenoiseWidget", "TrainWidget"]
