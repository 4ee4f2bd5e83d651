"""``python -m napari_noise2inpaint.cli`` (also under torchrun) runs the command line."""

from . import main

raise SystemExit(main())
