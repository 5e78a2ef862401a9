"""The MPI world: who this process is, how many there are, and what happens when one fails.

``init()`` joins the world only when an MPI launcher started this process
(``mpiexec``, ``mpirun`` and ``srun`` leave ``PMI_*``, ``PMIX_*`` or ``OMPI_*``
variables behind); otherwise it does nothing and the process is a world of one.
That is what lets one script run alone or under ``mpiexec -n 4`` unchanged.

Failure is the hard part of synchronous training: a rank that raises while the
others wait in a collective leaves them waiting forever (MPI has no timeout, and
``mpiexec`` keeps the job alive when one process exits with an error).  So an
error that escapes on one rank is reported with its rank and then the whole job
is taken down with ``MPI_Abort``.  Errors that every rank raises at the same
point (a mismatch found by comparing all ranks, a diverged global loss) are
marked with :func:`on_every_rank` and propagate normally, since nobody is left
waiting.
"""
from __future__ import annotations

import contextlib
import functools
import inspect
import os
import sys
import time
import traceback

from ..core.errors import ChainruleError

# variables that MPI launchers set in every process they start
LAUNCHER_VARIABLES = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE",
                      "OMPI_COMM_WORLD_RANK", "MPI_LOCALNRANKS")
ABORT_GRACE = 0.5       # seconds between the last report and MPI_Abort
INSTALL_HINT = 'pip install "chainrule[distributed]"  (mpi4py and the mpich runtime, as wheels)'


class DistributedError(ChainruleError):
    """Ranks that disagree, or a distributed run that cannot start."""


class _World:
    comm = None      # mpi4py's COMM_WORLD once joined
    rank = 0
    size = 1
    threads = None   # BLAS threads per rank set by init() (see _share_cores)


_world = _World()


def launched_by_mpi():
    """True when an MPI launcher (mpiexec, mpirun, srun) started this process."""
    return any(v in os.environ for v in LAUNCHER_VARIABLES)


def init():
    """Join the MPI world if an MPI launcher started this process; returns the world size.

    Outside ``mpiexec`` this is a no-op (world size 1, rank 0) and mpi4py is not
    even imported.  Calling it again does nothing; ``rank()`` and friends call it
    for you.
    """
    if _world.comm is not None or not launched_by_mpi():
        return _world.size
    try:
        from mpi4py import MPI
    except ImportError:
        found = next(v for v in LAUNCHER_VARIABLES if v in os.environ)
        raise DistributedError(
            "distributed.init", message="this process was started by an MPI launcher but "
            "mpi4py is not installed", expected="mpi4py importable in this Python",
            actual=f"{found}={os.environ[found]} is set, `import mpi4py` fails",
            fix=INSTALL_HINT) from None
    comm = MPI.COMM_WORLD
    expected = _launched_size()
    if expected is not None and expected != comm.Get_size():
        raise DistributedError(
            "distributed.init", message="the launcher and mpi4py's MPI library do not match",
            expected=f"a world of {expected} processes (what the launcher says it started)",
            actual=f"MPI sees {comm.Get_size()}: each process would train alone",
            fix=f"launch with the mpiexec that comes with this Python's MPI "
                f"({os.path.join(os.path.dirname(sys.executable), 'mpiexec')} for the mpich "
                "wheel), or build mpi4py against the MPI whose mpiexec you use")
    _world.comm, _world.rank, _world.size = comm, comm.Get_rank(), comm.Get_size()
    if _world.size > 1:
        _install_excepthook()
        _world.threads = _share_cores(comm, MPI)
    return _world.size


# the variables by which a user (or Slurm script) says how many threads each process may use
THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS")


def _share_cores(comm, MPI):
    """Split a machine's cores among the ranks running on it, unless the user said how.

    Each rank's BLAS starts one thread per core; with several ranks on one machine those
    threads outnumber the cores and spin against each other (2 ranks on 2 cores ran a small
    MLP's steps 20× slower than with one thread each).  torchrun sets OMP_NUM_THREADS=1 for
    the same reason.  Returns the threads per rank now in force, or None when the user's
    setting stands (or threadpoolctl, which sets the limit after NumPy has loaded, is absent).
    """
    if any(v in os.environ for v in THREAD_VARIABLES):
        return None
    local = comm.Split_type(MPI.COMM_TYPE_SHARED)
    try:
        on_this_machine = local.Get_size()
    finally:
        local.Free()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else \
        (os.cpu_count() or 1)
    threads = max(1, cores // on_this_machine)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return None
    threadpool_limits(threads)          # in force from now on, for every BLAS/OpenMP pool
    os.environ.setdefault("OMP_NUM_THREADS", str(threads))     # and for child processes
    return threads


def blas_threads():
    """Threads per rank that init() set for BLAS (None: the user's or the library's own)."""
    init()
    return _world.threads


def _launched_size():
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        try:
            return int(os.environ[var])
        except (KeyError, ValueError):
            continue
    return None


def rank():
    """This process's number, 0 .. world_size() − 1 (0 outside mpiexec)."""
    init()
    return _world.rank


def world_size():
    """How many processes train together (1 outside mpiexec)."""
    return init()


def is_main():
    """True on rank 0: the one process that prints, writes checkpoints and plots."""
    return rank() == 0


def comm():
    """mpi4py's COMM_WORLD, or None in a world of one."""
    init()
    return _world.comm


def barrier():
    """Wait until every rank has arrived here."""
    if world_size() > 1:
        _world.comm.Barrier()


# --------------------------------------------------------------------- failing
def on_every_rank(exc):
    """Mark ``exc`` as raised by every rank at the same point (so it needs no abort)."""
    exc.on_every_rank = True
    return exc


def raised_on_every_rank(exc):
    return bool(getattr(exc, "on_every_rank", False))


def where():
    """'rank 1 of 4', for messages."""
    return f"rank {rank()} of {world_size()}"


def report(exc, label="chainrule"):
    """Print a failure on stderr, naming this rank; a traceback unless it is a user error."""
    user_error = isinstance(exc, (ChainruleError, KeyboardInterrupt))
    text = "interrupted" if isinstance(exc, KeyboardInterrupt) else \
        " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    if not user_error:
        text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    trace = "" if user_error else "".join(
        traceback.format_exception(type(exc), exc, exc.__traceback__))
    sys.stderr.write(f"{trace}{label}: error on {where()}: {text}\n"
                     f"{label}: stopping all {world_size()} processes (MPI_Abort)\n")
    sys.stderr.flush()


def abort(code=1):
    """End every rank now (MPI_Abort); never returns.

    It first gives the launcher a moment to forward what this rank printed:
    MPI_Abort kills the processes that relay output, and a report lost on the
    way would leave the user with a failed job and no reason.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    time.sleep(ABORT_GRACE)
    if _world.comm is not None:
        _world.comm.Abort(code)
    os._exit(code)


@contextlib.contextmanager
def all_stop_on_error(label="chainrule", quiet=False):
    """Inside this block, an exception on one rank stops every rank.

    An exception raised on every rank (see :func:`on_every_rank`) propagates as
    usual, or with ``quiet`` ends the non-main ranks silently (exit status 2) so
    that only rank 0 reports it.  Any other exception is reported with its rank
    and the job is aborted.  In a world of one this does nothing.
    """
    if world_size() == 1:
        yield
        return
    try:
        yield
    except BaseException as exc:
        if isinstance(exc, SystemExit) and not exc.code:
            raise
        if raised_on_every_rank(exc):
            if quiet and not is_main():
                raise SystemExit(2) from None
            raise
        report(exc, label)
        abort(1)


def collective(switch):
    """Decorator for functions every rank runs in step (fit): one rank's error stops all.

    ``switch`` names the function's argument that turns distribution off when
    False (fit's ``distributed``); with it False, or in a world of one, the
    function runs unguarded.
    """
    def wrap(fn):
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def guarded(*args, **kwargs):
            on = signature.bind_partial(*args, **kwargs).arguments.get(switch)
            if on is False or world_size() == 1:
                return fn(*args, **kwargs)
            with all_stop_on_error(f"chainrule {fn.__name__}"):
                return fn(*args, **kwargs)
        return guarded
    return wrap


_previous_hook = None


def _install_excepthook():
    """An uncaught exception on one rank aborts the job instead of leaving the rest waiting."""
    global _previous_hook
    if _previous_hook is not None:
        return
    _previous_hook = sys.excepthook

    def hook(kind, value, tb):
        if raised_on_every_rank(value):
            if is_main():
                _previous_hook(kind, value, tb)
            return
        _previous_hook(kind, value, tb)
        sys.stderr.write(f"chainrule.distributed: uncaught {kind.__name__} on {where()}; "
                         f"stopping all {world_size()} processes (MPI_Abort)\n")
        abort(1)

    sys.excepthook = hook
