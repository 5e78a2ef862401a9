"""Entry point: ``chainrule <command> ...``.

Every module in this package that defines ``register(subparsers)`` adds a
subcommand (its ``ORDER`` sorts the help).  User mistakes end in a one-line
message and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from .. import __version__
from ..core.errors import ChainruleError
from .expr import ExprError


class CommandError(Exception):
    """A user-facing failure: printed without a traceback."""


def build_parser():
    parser = argparse.ArgumentParser(
        prog="chainrule",
        description="Exact gradients of NumPy code by the chain rule: compute, check, explain, train.")
    parser.add_argument("--version", action="version", version=f"chainrule {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = []
    for info in pkgutil.iter_modules(_package_path()):
        if info.name in ("main", "expr") or info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__package__}.{info.name}")
        if hasattr(mod, "register"):
            modules.append(mod)
    for mod in sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        mod.register(sub)
    return parser


def _package_path():
    from . import __path__ as path
    return path


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        return args.func(args) or 0
    except (ChainruleError, ExprError, CommandError) as e:
        one_line = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(f"chainrule {args.command}: error: {one_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
