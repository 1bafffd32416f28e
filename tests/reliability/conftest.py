"""tests/reliability builds the same tiny world as tests/ingestion: its builders on the path, its fixtures."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "ingestion"))

from ingestion_builders import con, tmp  # noqa: E402, F401 - fixtures, registered by being here
