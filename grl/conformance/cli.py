"""The command line: check ``MODULE:ATTR`` in ``FRAMEWORK`` and print a capability table.

Exit status: 0 when every applicable check passes, 1 when any fails, 2 for a usage error.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

from grl.conformance.runner import FRAMEWORKS, as_adapter, callable_adapter, run


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grl.conformance",
        description="Check a gradient reversal implementation against the grl specification.",
    )
    parser.add_argument("framework", choices=sorted(FRAMEWORKS), help="its framework")
    parser.add_argument(
        "target",
        metavar="MODULE:ATTR",
        help="a callable f(x, lambda_) returning the reversed tensor, or an Adapter subclass",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every result as JSON")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only the table")
    return parser


def load_target(parser: argparse.ArgumentParser, target: str) -> Any:
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        parser.error(f"MODULE:ATTR expected (e.g. mypackage.layers:grad_reverse); got {target!r}")
    sys.path.insert(0, os.getcwd())  # like `python -m`, find the user's modules here
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as error:
        parser.error(f"cannot import {module_name!r}: {error}")
    for part in attr.split("."):
        if not hasattr(target, part):
            parser.error(f"module {module_name!r} has no attribute {attr!r}")
        target = getattr(target, part)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's C++ start-up chatter
    # The checks build a fresh tf.function per case on purpose; TF warns about retracing.
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    try:
        callable_adapter(args.framework)
    except ImportError as error:
        parser.error(f"{args.framework} cannot be imported: {error}")
    target = load_target(parser, args.target)
    try:
        adapter = as_adapter(args.framework, target)
    except TypeError as error:
        parser.error(str(error))
    report = run(adapter, framework=args.framework, implementation=args.target)
    print(report.table())
    if not args.quiet:
        for result in report.failures:
            print(f"FAILED {result.check}[{result.case}]: {result.reason}")
    if args.json:
        report.write_json(args.json)
    return 0 if report.ok else 1
