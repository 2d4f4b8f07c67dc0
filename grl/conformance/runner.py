"""Run every applicable check on one implementation and collect a :class:`Report`."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Any

from grl._frameworks import NAMES
from grl.conformance.adapter import Adapter, AdapterLacks
from grl.conformance.checks import CHECKS, Check, NotApplicable
from grl.conformance.report import FAILED, NOT_APPLICABLE, PASSED, Report, Result

#: FRAMEWORK names of the command line (grl's backends) -> module of its callable adapter.
FRAMEWORKS = {name: f"grl.conformance.frameworks.{name}" for name in NAMES}


def callable_adapter(framework: str) -> type[Adapter]:
    """The adapter class that wraps ``f(x, lambda_)`` in ``framework`` (imports it)."""
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {', '.join(FRAMEWORKS)}; got {framework!r}")
    return importlib.import_module(FRAMEWORKS[framework]).CallableAdapter


def as_adapter(framework: str, target: Any) -> Adapter:
    """``target`` as an adapter: an Adapter (instance or class) as is, a callable
    ``f(x, lambda_)`` wrapped by the framework's callable adapter."""
    if isinstance(target, Adapter):
        return target
    if isinstance(target, type) and issubclass(target, Adapter):
        return target()
    if not callable(target):
        raise TypeError(
            f"expected a callable f(x, lambda_) or a grl.conformance.Adapter; got {target!r}"
        )
    return callable_adapter(framework)(target)


def describe(target: Any) -> str:
    name = getattr(target, "name", "") if isinstance(target, Adapter) else ""
    if name:
        return name
    module = getattr(target, "__module__", "") or ""
    qualname = getattr(target, "__qualname__", "") or type(target).__qualname__
    return f"{module}:{qualname}" if module else qualname


def _label(case: dict[str, Any]) -> str:
    def show(value: Any) -> str:
        return value.__name__ if isinstance(value, type) else repr(value)

    return ",".join(f"{key}={show(value)}" for key, value in case.items())


def run_case(adapter: Adapter, check: Check, case: dict[str, Any]) -> Result:
    def result(status: str, reason: str = "", kind: str = "conformant") -> Result:
        return Result(check.name, check.capability, _label(case), status, reason, kind)

    try:
        outcome = check.function(adapter, **case)
    except (NotApplicable, AdapterLacks) as error:
        return result(NOT_APPLICABLE, str(error) or "the adapter does not implement it")
    except AssertionError as error:
        return result(FAILED, str(error).strip().splitlines()[0] if str(error).strip() else "")
    except Exception as error:  # an exception is the finding
        return result(FAILED, f"raised {type(error).__name__}: {error}".splitlines()[0])
    return result(PASSED, kind=outcome if isinstance(outcome, str) else "conformant")


def run(
    adapter: Adapter,
    *,
    framework: str = "",
    implementation: str = "",
    checks: Iterable[Check] = CHECKS,
    progress: Callable[[Result], None] | None = None,
) -> Report:
    """Every case of every check on ``adapter``."""
    report = Report(framework or adapter.name, implementation or describe(adapter))
    for check_ in checks:
        try:
            cases = check_.cases(adapter)
        except AdapterLacks:
            cases = []
        for case in cases:
            report.results.append(run_case(adapter, check_, case))
            if progress is not None:
                progress(report.results[-1])
    return report


def check(framework: str, target: Any, *, only: Iterable[str] = ()) -> Report:
    """Check ``target`` (a callable ``f(x, lambda_)`` returning the reversed tensor, or an
    :class:`~grl.conformance.Adapter`) in ``framework`` against the specification.

    ``only`` restricts the run to the named checks (``grl.conformance.checks.CHECKS``).
    """
    adapter = as_adapter(framework, target)
    wanted = set(only)
    chosen = [c for c in CHECKS if not wanted or c.name in wanted]
    if wanted - {c.name for c in chosen}:
        raise ValueError(f"unknown checks: {sorted(wanted - {c.name for c in chosen})}")
    return run(adapter, framework=framework, implementation=describe(target), checks=chosen)
