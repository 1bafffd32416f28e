"""The tiny test world's fixtures (ingestion_builders owns them; tests/reliability imports the same)."""

from ingestion_builders import con, tmp  # noqa: F401 - fixtures, registered by being here
