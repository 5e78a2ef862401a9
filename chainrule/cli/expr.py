"""Safe math expressions for the command line: ``"x**2 + 2*y**2 + 3*z**2"``.

The text is parsed with Python's ``ast`` and every node is checked against a
whitelist: numbers, names, lists, arithmetic and a fixed set of functions.
Nothing is ever passed to ``eval`` or ``exec``; the checked tree is walked
and each node is mapped to a chainrule operation.

Limits bound what could exhaust the machine, not what is merely long: the
*nesting* depth (brackets, calls, operators inside operators) is at most
MAX_DEPTH, while a flat chain such as a sum of 500 terms or a degree-64
polynomial is walked as a loop, however long it is.

Names are read the way Python reads identifiers: NFKC-normalised, so ``ｘ``
(full-width) and ``𝑥`` (mathematical italic) are ``x`` and ``ſin`` is ``sin``.
``user_name`` applies the same rule to the names in --at, --wrt and --vary, and
``renamed`` lists the names that were changed so the commands can say so.
"""
from __future__ import annotations

import ast
import unicodedata

import numpy as np

from .. import functional as F
from .. import numpy as cnp

MAX_LENGTH = 2000          # characters in one expression
MAX_DEPTH = 60             # nesting of the expression (brackets, calls, operators in operators)
MAX_EXPONENT = 1000        # |constant exponent| allowed in a ** b
MAX_DIGITS = 40            # digits in one number literal


def _numpy_max_dims():
    try:
        np.empty((1,) * 64)
        return 64              # NumPy 2
    except ValueError:
        return 32              # NumPy 1.x


MAX_DIMS = _numpy_max_dims()   # nesting of a list value in --at: NumPy's limit on dimensions


class ExprError(ValueError):
    """The expression uses something outside the whitelist, or is malformed."""


def user_name(text):
    """A variable name as the expression parser reads it: stripped and NFKC-normalised."""
    return unicodedata.normalize("NFKC", text.strip())


def _norm(x, ord=None):
    return cnp.linalg.norm(x, ord)


def _max(*a):
    return cnp.max(a[0]) if len(a) == 1 else cnp.maximum(*a)


def _min(*a):
    return cnp.min(a[0]) if len(a) == 1 else cnp.minimum(*a)


FUNCTIONS = {
    "exp": cnp.exp, "log": cnp.log, "sqrt": cnp.sqrt, "abs": cnp.abs, "sin": cnp.sin,
    "cos": cnp.cos, "tan": cnp.tan, "tanh": cnp.tanh, "sigmoid": F.sigmoid, "relu": F.relu,
    "softmax": F.softmax, "log_softmax": F.log_softmax, "softplus": F.softplus,
    "sum": cnp.sum, "mean": cnp.mean, "prod": cnp.prod, "dot": cnp.dot, "norm": _norm,
    "max": _max, "min": _min, "log1p": cnp.log1p, "square": cnp.square, "arctan": cnp.arctan,
    "cosh": cnp.cosh, "sinh": cnp.sinh,
}
# (fewest, most) arguments, checked before anything runs; one argument unless listed
ARITY = {"dot": (2, 2), "norm": (1, 2), "max": (1, 2), "min": (1, 2)}
CONSTANTS = {"pi": np.pi, "e": np.e}
_BINOPS = {ast.Add: ("+", cnp.add), ast.Sub: ("-", cnp.subtract), ast.Mult: ("*", cnp.multiply),
           ast.Div: ("/", cnp.divide), ast.Pow: ("**", cnp.power), ast.Mod: ("%", cnp.mod),
           ast.MatMult: ("@", cnp.matmul)}
_LEVEL = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Mod: 2, ast.MatMult: 2,
          ast.Pow: 3}          # operators of one level chain left to right without nesting
_UNARY = {ast.USub: "-", ast.UAdd: "+"}


def _arity(lo, hi):
    if lo == hi:
        return f"{lo} argument{'s' if lo > 1 else ''}"
    return f"{lo} or {hi} arguments"


def _bracket_depth(text):
    depth = deepest = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]}":
            depth -= 1
    return deepest


def _chain(node):
    """(first operand, [(op, operand), ...]) of a left-to-right chain like a + b - c + d.

    Walking the chain as a list keeps long sums and products out of Python's recursion.
    """
    level = _LEVEL.get(type(node.op))
    rest = []
    while isinstance(node, ast.BinOp) and _LEVEL.get(type(node.op)) == level and level != 3:
        rest.append((node.op, node.right))
        node = node.left
    if not rest:                           # a power: a ** b is one node (towers are refused)
        return node.left, [(node.op, node.right)]
    return node, rest[::-1]


def parse(text):
    """Check ``text`` and return its tree; raises ExprError naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression: write something like 'x**2 + 2*y'")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression too long ({len(text)} characters; at most {MAX_LENGTH})")
    if _bracket_depth(text) > MAX_DEPTH:
        raise ExprError(f"expression nested too deeply (brackets inside brackets more than "
                        f"{MAX_DEPTH} levels deep)")
    text = text.strip()
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as e:
        raise ExprError(f"not a valid expression: {_where(e, text)}") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression could not be parsed (too deeply nested?)") from None
    _check(tree.body, 0)
    tree.body.chainrule_source = text
    return tree.body


def _where(e, text):
    """SyntaxError -> 'invalid syntax at column 3, before '*2'' (1-based columns)."""
    col = e.offset or 0
    if (e.lineno or 1) > 1 or col < 1 or col > len(text):
        return (f"{e.msg}: the expression ends too early (something is missing after "
                f"{text[-20:]!r}, at column {len(text) + 1})")
    return f"{e.msg} at column {col}, before {text[col - 1:col + 19]!r}"


def renamed(tree):
    """[(as written, as read)] for each name the NFKC rule changed (e.g. ('𝑥', 'x'))."""
    text = getattr(tree, "chainrule_source", None)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and text is not None:
            written = ast.get_source_segment(text, node)
            if written and written != node.id and (written, node.id) not in out:
                out.append((written, node.id))
    return out


def _check(node, depth):
    if depth > MAX_DEPTH:
        raise ExprError(f"expression nested too deeply (more than {MAX_DEPTH} levels)")
    if isinstance(node, ast.Constant):
        v = node.value
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ExprError(f"only numbers are allowed as constants, not {type(v).__name__} "
                            f"{v!r:.40}")
        if isinstance(v, int) and len(str(abs(v))) > MAX_DIGITS:
            raise ExprError(f"number literal too long (more than {MAX_DIGITS} digits)")
        return
    if isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ExprError(f"names starting with '_' are not allowed: {node.id!r}")
        return
    if isinstance(node, ast.BinOp):
        if type(node.op) not in _BINOPS:
            raise ExprError(f"operator {type(node.op).__name__} is not allowed; use + - * / ** % @")
        first, rest = _chain(node)
        _check(first, depth + 1)
        for op, operand in rest:
            if type(op) not in _BINOPS:
                raise ExprError(f"operator {type(op).__name__} is not allowed; use + - * / ** % @")
            if isinstance(op, ast.Pow):
                _check_exponent(operand)
            _check(operand, depth + 1)
        return
    if isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ExprError(f"unary operator {type(node.op).__name__} is not allowed")
        _check(node.operand, depth + 1)
        return
    if isinstance(node, (ast.List, ast.Tuple)):
        for elt in node.elts:
            _check(elt, depth + 1)
        return
    if isinstance(node, ast.Call):
        if not isinstance(node.func, ast.Name):
            raise ExprError("only plain function calls like sin(x) are allowed "
                            "(no attribute access, no calling results)")
        name = node.func.id
        if name not in FUNCTIONS:
            raise ExprError(f"unknown function {name!r}; allowed: " + ", ".join(sorted(FUNCTIONS)))
        if node.keywords:
            raise ExprError(f"keyword arguments are not allowed in {name}()")
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise ExprError("*args are not allowed")
        lo, hi = ARITY.get(name, (1, 1))
        if not lo <= len(node.args) <= hi:
            example = {1: "(x)", 2: "(x, y)"}[lo]
            raise ExprError(f"{name}() takes {_arity(lo, hi)}, got {len(node.args)}; "
                            f"write e.g. {name}{example}")
        for a in node.args:
            _check(a, depth + 1)
        return
    if isinstance(node, ast.Attribute):
        raise ExprError(f"attribute access ('.{node.attr}') is not allowed")
    if isinstance(node, ast.Subscript):
        raise ExprError("subscripts (x[...]) are not allowed")
    if isinstance(node, ast.Lambda):
        raise ExprError("lambda is not allowed")
    raise ExprError(f"{type(node).__name__} is not allowed in an expression; use numbers, "
                    "variables, + - * / ** and the listed functions")


def _check_exponent(node):
    value = _constant_value(node)
    if value is not None and abs(value) > MAX_EXPONENT:
        raise ExprError(f"exponent {value:g} is too large (at most {MAX_EXPONENT} in magnitude)")
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        # towers like 9**9**9 explode even when each piece is small
        if _constant_value(node) is None:
            raise ExprError("power towers (a ** b ** c) are not allowed; use parentheses")


def _constant_value(node):
    """The value of a constant sub-expression made of numbers and + - * only, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return float(node.value)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        v = _constant_value(node.operand)
        return None if v is None else (-v if isinstance(node.op, ast.USub) else v)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        a, b = _constant_value(node.left), _constant_value(node.right)
        if a is None or b is None:
            return None
        if abs(b) > MAX_EXPONENT or (abs(a) > 1 and abs(b) * np.log10(abs(a)) > 300):
            raise ExprError("constant power too large")
        return a ** b
    return None


def names(tree):
    """Variable names used in the expression (functions and constants excluded), in order."""
    found = []
    nodes = [n for n in ast.walk(tree) if isinstance(n, ast.Name)]
    for node in sorted(nodes, key=lambda n: (n.lineno, n.col_offset)):
        if node.id not in FUNCTIONS and node.id not in CONSTANTS and node.id not in found:
            found.append(node.id)
    return found


def evaluate(tree, env, origins=None):
    """Compute the checked tree with chainrule operations; ``env`` maps names to values.

    ``origins``, a list, receives (sub-expression, its value) for the first operation
    whose result is not finite although its inputs are: where an inf or nan came from.
    """
    if isinstance(tree, str):
        tree = parse(tree)
    return _eval(tree, env, getattr(tree, "chainrule_source", None), origins)


def _finite(v):
    return bool(np.all(np.isfinite(np.asarray(getattr(v, "data", v), dtype=float))))


def _note(origins, text, node, out, inputs):
    if origins is not None and not origins and text is not None and not _finite(out) \
            and all(_finite(v) for v in inputs):
        origins.append((ast.get_source_segment(text, node) or "?", out))
    return out


def _apply(symbol, fn, a, b):
    try:
        return fn(a, b)
    except ValueError as e:
        raise ExprError(f"cannot compute '{symbol}': {e}") from None


def _eval(node, env, text=None, origins=None):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ExprError(f"no value given for {node.id!r}; add it to --at, e.g. --at {node.id}=1")
    if isinstance(node, ast.BinOp):
        first, rest = _chain(node)
        acc = _eval(first, env, text, origins)
        for op, operand in rest:
            b = _eval(operand, env, text, origins)
            symbol, fn = _BINOPS[type(op)]
            acc = _note(origins, text, node, _apply(symbol, fn, acc, b), (acc, b))
        return acc
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env, text, origins)
        return cnp.negative(v) if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, env, text, origins) for e in node.elts]
        return cnp.stack(items) if any(
            not isinstance(i, float) for i in items) else np.array(items)
    if isinstance(node, ast.Call):
        fn = FUNCTIONS[node.func.id]
        args = [_eval(a, env, text, origins) for a in node.args]
        try:
            out = fn(*args)
        except (TypeError, ValueError) as e:
            raise ExprError(f"{node.func.id}(): {_first_line(e, node.func.id)}") from None
        return _note(origins, text, node, out, args)
    raise ExprError(f"{type(node).__name__} is not allowed")  # unreachable after parse()


def _first_line(e, name):
    """An error's first line, without the function name repeated in front of it."""
    line = str(e).splitlines()[0] if str(e) else type(e).__name__
    for prefix in (f"{name}: ", f"{name}(): "):
        if line.startswith(prefix):
            line = line[len(prefix):]
    return line


def parse_values(text):
    """Parse ``--at x=1,y=2,w=[1,2,3]`` into {name: float or ndarray} (numbers only).

    Names follow ``user_name`` (NFKC), exactly like the names in the expression; a name
    given twice is refused rather than silently taking the last value.
    """
    values, written = {}, {}
    if not text:
        return values
    for part in _split_top(text):
        if "=" not in part:
            raise ExprError(f"--at expects name=value pairs, got {part!r:.60}; e.g. --at x=1,y=2")
        raw_name, _, raw = part.partition("=")
        name = user_name(raw_name)
        if not name.isidentifier() or name.startswith("_"):
            raise ExprError(f"bad variable name {raw_name.strip()!r} in --at")
        if name in values:
            same = "" if written[name] == raw_name.strip() else \
                f" ({written[name]!r} and {raw_name.strip()!r} are the same name)"
            raise ExprError(f"--at gives {name} twice{same}; give each variable one value")
        written[name] = raw_name.strip()
        if _bracket_depth(raw) > MAX_DIMS:
            raise ExprError(f"the value of {name} is nested more than {MAX_DIMS} levels deep, "
                            f"and NumPy arrays have at most {MAX_DIMS} dimensions")
        try:
            node = ast.parse(raw.strip(), mode="eval").body
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            raise ExprError(f"bad value for {name}: {raw.strip()!r:.60}; use a number or a list "
                            "like [1,2,3]") from None
        values[name] = _literal(node, name)
    return values


def _split_top(text):
    parts, depth, cur = [], 0, ""
    for ch in text:
        if ch in "[(":
            depth += 1
        elif ch in "])":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += ch
    if cur.strip():
        parts.append(cur)
    return parts


def _literal(node, name):
    """A number or a regular nested list of numbers as float64, or a message saying which row
    breaks the shape."""
    def num(n):
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = num(n.operand)
            if isinstance(v, list):
                raise ExprError(f"value of {name} must be a number or a list of numbers")
            return -v if isinstance(n.op, ast.USub) else v
        if isinstance(n, ast.Constant) and isinstance(n.value, (int, float)) \
                and not isinstance(n.value, bool):
            if isinstance(n.value, int) and len(str(abs(n.value))) > MAX_DIGITS:
                raise ExprError(f"number too long in value of {name}")
            return float(n.value)
        if isinstance(n, (ast.List, ast.Tuple)):
            return [num(e) for e in n.elts]
        raise ExprError(f"value of {name} must be a number or a list of numbers")
    v = num(node)
    _regular(v, name)
    arr = np.array(v, dtype=np.float64)
    if not np.all(np.isfinite(arr)):
        raise ExprError(f"the value of {name} is not a finite number")
    return float(arr) if arr.ndim == 0 else arr


def _shape(v):
    shape = []
    while isinstance(v, list):
        shape.append(len(v))
        if not v:
            break
        v = v[0]
    return tuple(shape)


def _regular(v, name):
    """Refuse a ragged list, naming the first row whose shape differs from its siblings'."""
    stack = [(v, ())]
    while stack:
        item, where = stack.pop()
        if not isinstance(item, list):
            continue
        shapes = [_shape(e) for e in item]
        for i, s in enumerate(shapes):
            if s != shapes[0] or isinstance(item[i], list) != isinstance(item[0], list):
                at = "".join(f"[{k}]" for k in where)
                raise ExprError(f"the value of {name} is a ragged list: {name}{at}[{i}] has "
                                f"shape {s} but {name}{at}[0] has shape {shapes[0]}; every row "
                                "must have the same length")
        stack.extend((e, where + (i,)) for i, e in enumerate(item))
