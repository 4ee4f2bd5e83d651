"""napari widgets of Noise2Inpaint; the only place (with the reader and writer) that uses Qt."""

from napari_noise2inpaint._widgets.denoise_widget import DenoiseWidget
from napari_noise2inpaint._widgets.train_widget import TrainWidget

__all__ = ["DenoiseWidget", "TrainWidget"]
