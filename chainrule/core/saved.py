"""Arrays a live graph has saved are read-only until the graph is freed.

A recorded operation keeps references to its arguments for the backward pass.
When one of them is an array the caller can still reach (a constant ``c`` in
``x * c``, the matrix in ``A @ x``, an input of ``grad(f)``), writing into it
before ``backward()`` would silently change the gradient.  Copying every
constant would cost memory traffic on every step, so instead (as MyGrad does)
the array is marked read-only while some graph needs it, and NumPy refuses
the write ("assignment destination is read-only").  The flag is restored as
soon as the last graph that saved the array is freed: by ``backward()``, or
by being dropped.

Holders are counted per array (several graphs may save the same array), and
views are released only once their base is writeable again.
"""
import threading
import weakref

import numpy as np

from . import state

_ndarray = np.ndarray
_lock = threading.RLock()        # re-entrant: a release may run from the GC inside a hold
_held = {}                        # id(array) -> [array, number of holders]
_pending = []                     # views nobody holds whose base is still held: restored later
_state = state.local


class Held:
    """Keeps its arrays read-only until it is released or dies."""
    __slots__ = ("arrays", "__weakref__")

    def __init__(self, arrays):
        self.arrays = arrays

    def release(self):
        arrays, self.arrays = self.arrays, ()
        if arrays:
            release(arrays)

    __del__ = release


class scope:
    """``with scope(held):`` a transform's call.  If it fails, every hold made inside it (and
    ``held``) is released: the half-built graph will never be differentiated, but a traceback
    kept by a debugger or notebook could otherwise keep the caller's arrays read-only."""

    def __init__(self, held=None):
        self.held = held

    def __enter__(self):
        _state.scopes.append([])
        return self

    def __exit__(self, exc_type, *exc):
        made = _state.scopes.pop()
        if exc_type is not None:
            for ref in made:
                h = ref()
                if h is not None:
                    h.release()
        if self.held is not None:
            self.held.release()
        return False


def hold(candidates):
    """Make the caller-reachable arrays among ``candidates`` read-only; None if there were none.

    Each array counts with the arrays it is a view of (writes through the base would change
    it too); arrays read-only for their own reasons are left alone, and so are arrays whose
    flag could never be set back (memory from C without a base object, as SciPy's MINPACK
    hands its callbacks): callers copy those instead (``restorable``).
    """
    arrays = []
    for a in candidates:
        while type(a) is _ndarray:
            if (a.flags.writeable and restorable(a)) or id(a) in _held:
                arrays.append(a)
            a = a.base
    if not arrays:
        return None
    with _lock:
        for a in arrays:
            entry = _held.get(id(a))
            if entry is None:
                _held[id(a)] = [a, 1]
                a.setflags(write=False)
            else:
                entry[1] += 1
    h = Held(arrays)
    scopes = _state.scopes
    if scopes:
        scopes[-1].append(weakref.ref(h))
    return h


def restorable(a):
    """Whether an array made read-only can be made writeable again."""
    return a.flags.owndata or a.base is not None


def release(arrays):
    """One holder fewer for each array; the ones nobody holds become writeable again."""
    with _lock:
        restored = False
        for a in reversed(arrays):          # bases before the views of them
            entry = _held.get(id(a))
            if entry is None or entry[0] is not a:
                continue
            entry[1] -= 1
            if entry[1] == 0:
                try:
                    a.setflags(write=True)
                except ValueError:          # its base is held by another graph: wait for it
                    _pending.append(a)
                    continue
                del _held[id(a)]
                restored = True
        if restored and _pending:
            _retry_pending()


def _retry_pending():
    keep = []
    for a in _pending:                  # (by identity: == on arrays compares their values)
        entry = _held.get(id(a))
        if entry is None or entry[0] is not a or entry[1]:
            continue                    # held again: its new holder will release it
        try:
            a.setflags(write=True)
        except ValueError:
            keep.append(a)
            continue
        del _held[id(a)]
    _pending[:] = keep


def held_count():
    """How many arrays are read-only because of live graphs (for tests and diagnostics)."""
    with _lock:
        return sum(1 for _, count in _held.values() if count)
