"""Writing files so that nothing is ever half-written or lost: the one place that does it.

Every file chainrule writes (checkpoints, histories, curves, predictions) goes
through ``atomic_write``: the bytes go to a temporary file in the same folder,
which then replaces the target with ``os.replace``.  A reader, or a process
killed at any instant, sees the old file or the new one, never a mixture.

Temporary files are named ``.<name>.<pid>.<random>.tmp``; one left behind by a
process that was killed (SIGKILL cannot be caught) is removed by
``remove_stale_temps`` the next time a run uses the folder, while the temporary
files of a process that is still alive are left alone.

``mkstemp`` creates files readable by their owner only; the new file gets the
mode a plain ``open()`` would give it (0o666 minus the umask), or keeps the mode
of the file it replaces.
"""
from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
import threading
import time

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[A-Za-z0-9_]+\.tmp$")
_LEGACY_TEMP = re.compile(r"^\.(?P<name>.+)\.[A-Za-z0-9_]{8}\.tmp$")   # before pids were added
LEGACY_AGE = 600          # seconds: a pid-less temp file this old has no live writer


def umask():
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)       # no /proc: the classic read-and-restore
    os.umask(mask)
    return mask


def _mode_for(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except OSError:
        return 0o666 & ~umask()


def atomic_write(path, write, durable=True):
    """Call ``write(binary file)`` on a temp file next to ``path``, then move it into place.

    ``durable`` fsyncs the data before the move, so the new file also survives a
    power cut; files that can be rebuilt from a checkpoint may skip it.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(path)}.{os.getpid()}.",
                               suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), _mode_for(path))
            if durable:
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return path


def _alive(pid):
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True        # someone else's process: leave its files alone
    return True


def remove_stale_temps(folder, names=None):
    """Delete temp files in ``folder`` left by killed writers; returns the names removed.

    ``names`` limits the cleanup to temp files of those targets (e.g. the run files).
    """
    removed = []
    try:
        entries = os.listdir(folder)
    except OSError:
        return removed
    now = time.time()
    for entry in entries:
        m = _TEMP.match(entry)
        if m:
            stale = not _alive(int(m.group("pid")))
        else:
            m = _LEGACY_TEMP.match(entry)
            if not m:
                continue
            try:
                stale = now - os.stat(os.path.join(folder, entry)).st_mtime > LEGACY_AGE
            except OSError:
                continue
        if stale and (names is None or m.group("name") in names):
            with contextlib.suppress(OSError):
                os.unlink(os.path.join(folder, entry))
                removed.append(entry)
    return removed


@contextlib.contextmanager
def interrupts_deferred():
    """Hold Ctrl-C and SIGTERM until the block is done, then deliver them.

    A run folder's files are written one after another; an interrupt between two
    of them would leave a checkpoint of epoch k beside a history of epoch k-1.
    Signals can only be handled in the main thread; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending = []
    previous = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            previous[sig] = signal.signal(sig, lambda signum, frame: pending.append(signum))
        except (ValueError, OSError):      # e.g. an embedded interpreter
            pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(pending):
            handler = previous.get(sig)
            if callable(handler):
                handler(sig, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(sig)
