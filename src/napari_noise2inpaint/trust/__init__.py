"""Trust: built-in uncertainty and the residual check."""
