"""Images: reading and writing files, lazy and chunked work, memory checks."""
