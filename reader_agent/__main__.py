"""`python -m reader_agent` = `seisan-reader`."""

import sys

from reader_agent.cli import main

sys.exit(main())
