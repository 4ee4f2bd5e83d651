"""Tasks that the command line and the widgets run: denoising a batch of files."""
