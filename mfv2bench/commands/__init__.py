"""One module per CLI verb; each exposes ``command``."""
