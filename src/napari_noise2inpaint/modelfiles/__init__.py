"""Model files: safetensors checkpoints, their schema and card, loading, bioimage.io packages."""
