"""The engine: masks, U-Net, unrolled network, training, inference, keep rule."""
