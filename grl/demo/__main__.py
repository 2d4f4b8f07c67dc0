"""``python -m grl.demo``: see :mod:`grl.demo.cli`."""

from grl.demo.cli import main

raise SystemExit(main())
