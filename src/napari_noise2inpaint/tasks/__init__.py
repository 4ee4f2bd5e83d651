"""Tasks that the command line and the widgets run: denoising one image or a batch, training."""
