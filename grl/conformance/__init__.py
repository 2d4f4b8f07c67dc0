"""grl.conformance: hold any gradient reversal layer to the grl specification.

Importing this package imports no framework; one is imported when a check runs.

* ``python -m grl.conformance FRAMEWORK MODULE:ATTR [--json PATH]`` prints a capability
  table (exit 0: every applicable check passes; 1: a check fails; 2: a usage error).
* :func:`check` (``check("torch", my_grl).assert_ok()``) in a user's own tests, and the
  pytest fixture ``grl_conformance`` (plugin ``grl.conformance.pytest_plugin``).
* :class:`Adapter`: the interface the checks drive; the callable adapters of
  :mod:`grl.conformance.frameworks` wrap ``f(x, lambda_)``. Subclass one and override
  ``apply(x, lambda_)`` for another signature (λ named ``alpha``, given to a constructor,
  or no λ at all with ``takes_lambda = False``).
"""

from grl.conformance.adapter import Adapter, AdapterLacks
from grl.conformance.checks import CHECKS, NotApplicable
from grl.conformance.report import Report, Result
from grl.conformance.runner import check, run

__all__ = ["CHECKS", "Adapter", "AdapterLacks", "NotApplicable", "Report", "Result", "check", "run"]
