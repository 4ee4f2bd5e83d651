"""The module path that exported bioimage.io packages name for their architecture.

Every package names ``napari_noise2inpaint.bioimageio_arch.Noise2InpaintPipeline`` (its rdf's
``import_from``), so this path stays; the code lives in
:mod:`napari_noise2inpaint.modelfiles.bioimageio_arch`.
"""

from napari_noise2inpaint.modelfiles.bioimageio_arch import Noise2InpaintPipeline

__all__ = ["Noise2InpaintPipeline"]
