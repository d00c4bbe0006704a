"""Observability from metrics-only rows: SQL views, the report and the alert check (no grant needed)."""
