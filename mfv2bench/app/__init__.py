"""The application layer: cross-domain flows and the notebook API (filled in below)."""
