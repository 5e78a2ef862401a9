"""Entry point: ``chainrule <command> ...``.

Every module in this package that defines ``register(subparsers)`` adds a
subcommand (its ``ORDER`` sorts the help).  User mistakes end in a one-line
message and exit status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import pkgutil
import signal
import sys
import threading

from .. import __version__
from ..core.errors import ChainruleError
from .expr import ExprError


class CommandError(Exception):
    """A user-facing failure: printed without a traceback."""


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so a command cleans up (a run saves its state) and says so."""


# command name -> its parser, for commands whose positional argument is an expression
EXPRESSION_COMMANDS = {}


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
    argv = expression_last(list(sys.argv[1:] if argv is None else argv))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    try:
        with _sigterm_raises(), _anomaly_mode(args):
            return args.func(args) or 0
    except (ChainruleError, ExprError, CommandError) as e:
        one_line = " ".join(line.strip() for line in str(e).splitlines() if line.strip())
        print(f"chainrule {args.command}: error: {one_line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as e:
        term = isinstance(e, Terminated)
        print(f"chainrule {args.command}: {'terminated (SIGTERM)' if term else 'interrupted'}",
              file=sys.stderr)
        return 143 if term else 130


def _anomaly_mode(args):
    """--detect-anomaly on the commands that differentiate."""
    if not getattr(args, "detect_anomaly", False):
        return contextlib.nullcontext()
    from ..core.anomaly import detect_anomaly
    return detect_anomaly()


@contextlib.contextmanager
def _sigterm_raises():
    """Turn SIGTERM into Terminated for the command's duration (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum, frame):
        raise Terminated()
    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def expression_last(argv):
    """Let an expression start with '-' (``chainrule grad "-x**2" --at x=1``).

    argparse takes any word starting with '-' for an option; for the expression
    commands such a word that is no option, no option's value and no number is moved
    behind a '--', which is what the user would otherwise have to type.
    """
    parser = EXPRESSION_COMMANDS.get(argv[0]) if argv else None
    if parser is None or "--" in argv:
        return argv
    takes_value = {o for a in parser._actions if a.nargs != 0 for o in a.option_strings}
    known = {o for a in parser._actions for o in a.option_strings}
    for i, word in enumerate(argv[1:], 1):
        if i > 1 and argv[i - 1] in takes_value:
            continue                        # an option's value, e.g. --lr -0.1
        if word.startswith("-") and word != "-" and word.split("=")[0] not in known \
                and not word.startswith("--") and not _is_number(word):
            return argv[:i] + argv[i + 1:] + ["--", word]
    return argv


def _is_number(word):
    try:
        float(word)
    except ValueError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(main())
