"""``python -m sealing``: seal, verify and control-string commands for merchants and scripts."""

import sys

from ._cli import main

sys.exit(main())
