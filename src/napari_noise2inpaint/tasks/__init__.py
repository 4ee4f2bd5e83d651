"""Tasks that the command line and the widgets run: denoising one image, and a batch of files."""
