"""The browser tests use the store the observe tests build (a real server, the benchmark workload)."""

from tests.observe.conftest import observed_store  # noqa: F401 - the shared session fixture
