"""``python -m grl.conformance FRAMEWORK MODULE:ATTR [--json PATH]``."""

import sys

from grl.conformance.cli import main

sys.exit(main())
