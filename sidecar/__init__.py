"""sidecar package."""
