import sys

from seisan.cli import main

sys.exit(main())
