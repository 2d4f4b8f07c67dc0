"""One adapter per backend: the whole interface the conformance suite needs.

By convention the backend ``<name>`` of :data:`grl._frameworks.BACKENDS` has its adapter in
``tests/conformance/adapters/<name>_adapter.py``: that module defines exactly one subclass
of :class:`~tests.conformance.adapters.base.Adapter`. A fourth backend joins the suite by
adding that module; nothing here lists it. Importing this package loads no framework.
"""

from __future__ import annotations

import importlib

from grl._frameworks import NAMES

#: Backend name -> module of its adapter.
ADAPTERS: dict[str, str] = {name: f"tests.conformance.adapters.{name}_adapter" for name in NAMES}


def adapter_class(name: str) -> type:
    """The one :class:`Adapter` subclass defined in backend ``name``'s adapter module."""
    from tests.conformance.adapters.base import Adapter

    module = importlib.import_module(ADAPTERS[name])
    found = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Adapter)
        and value.__module__ == module.__name__
    ]
    if len(found) != 1:
        raise LookupError(
            f"{module.__name__} must define exactly one Adapter subclass; "
            f"found {[c.__name__ for c in found]}"
        )
    return found[0]
