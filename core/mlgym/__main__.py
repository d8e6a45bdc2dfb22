"""``python -m mlgym`` runs the command line."""

import sys

from mlgym.cli import main

sys.exit(main())
