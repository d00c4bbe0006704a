"""redactors package."""
