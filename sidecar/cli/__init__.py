"""The `tracevault` command line (sidecar/cli/app.py assembles it)."""

from sidecar.cli.app import main

__all__ = ["main"]
