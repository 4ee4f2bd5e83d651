"""``python -m napari_noise2inpaint.cli`` (also under torchrun) runs the command line."""

from napari_noise2inpaint.cli import main

raise SystemExit(main())
