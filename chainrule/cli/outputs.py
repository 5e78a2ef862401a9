"""Where commands write, and the rules every command that writes follows.

* No command writes over one of its own inputs (a checkpoint, a data file), not
  even with --force.
* No command replaces an existing file or run folder unless --force is given.
* Every file is written atomically and with the mode the umask asks for
  (``chainrule.training.files.atomic_write``).

``check_output`` and ``check_run_folder`` are called before any work starts, so a
refused command has written nothing.
"""
from __future__ import annotations

import os

from ..training.checkpoint import RUN_FILES
from ..training.files import atomic_write
from .main import CommandError


class OutputRefused(CommandError):
    """Writing there would lose data; main prints it on one line (exit status 2)."""


def _same(a, b):
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.normcase(os.path.realpath(a)) == os.path.normcase(os.path.realpath(b))


def _input_named(path, inputs):
    for flag, src in inputs.items():
        if src and os.path.exists(src) and os.path.isfile(src) and _same(path, src):
            return flag
    return None


def check_output(path, force=False, inputs=None, flag="--out"):
    """Refuse to write ``path`` over an input, a folder, or (without force) an existing file.

    ``inputs`` maps each input's flag to its path: {"--checkpoint": ..., "--data": ...}.
    """
    used = _input_named(path, inputs or {})
    if used:
        raise OutputRefused(f"{flag} {path} is the file given to {used}, an input of this "
                            "command; it is never written over, not even with --force: choose "
                            f"another {flag}")
    if os.path.isdir(path):
        raise OutputRefused(f"{flag} {path} is a folder; give a file name")
    if os.path.exists(path) and not force:
        raise OutputRefused(f"{path} already exists; pass --force to replace it, or choose "
                            f"another {flag}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise OutputRefused(f"cannot write {path}: folder {folder} does not exist")


def check_run_folder(folder, force=False, resume=False, inputs=None, flag="--out"):
    """Refuse a run folder that would replace a run (unless force), or one that is an input."""
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise OutputRefused(f"{flag} {folder} is a file, not a folder")
    for name in RUN_FILES:
        used = _input_named(os.path.join(folder, name), inputs or {})
        if used:
            raise OutputRefused(f"{used} {inputs[used]} is the run's own {name}, which training "
                                f"writes; it is never written over, not even with --force: "
                                f"copy it elsewhere or choose another {flag}")
    present = [n for n in RUN_FILES if os.path.exists(os.path.join(folder, n))]
    if resume or force or not present:
        return
    raise OutputRefused(f"{folder} already holds a training run ({', '.join(present)}); pass "
                        "--resume to continue it, --force to replace it, or choose another "
                        f"{flag}")


def write_file(path, data):
    """Write ``data`` (bytes, text, or a function of a binary file) to ``path`` atomically;
    call check_output first."""
    if callable(data):
        return atomic_write(path, data)
    raw = data.encode() if isinstance(data, str) else data
    return atomic_write(path, lambda f: f.write(raw))
