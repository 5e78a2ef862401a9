"""Safe math expressions for the command line: ``"x**2 + 2*y**2 + 3*z**2"``.

The text is parsed with Python's ``ast`` and every node is checked against a
whitelist: numbers, names, lists, arithmetic and a fixed set of functions.
Nothing is ever passed to ``eval`` or ``exec``; the checked tree is walked
and each node is mapped to a chainrule operation.
"""
from __future__ import annotations

import ast

import numpy as np

from .. import functional as F
from .. import numpy as cnp

MAX_LENGTH = 2000          # characters in one expression
MAX_DEPTH = 60             # nesting of the expression tree
MAX_EXPONENT = 1000        # |constant exponent| allowed in a ** b
MAX_DIGITS = 40            # digits in one number literal


class ExprError(ValueError):
    """The expression uses something outside the whitelist, or is malformed."""


def _norm(x, ord=None):
    return cnp.linalg.norm(x, ord)


FUNCTIONS = {
    "exp": cnp.exp, "log": cnp.log, "sqrt": cnp.sqrt, "abs": cnp.abs, "sin": cnp.sin,
    "cos": cnp.cos, "tan": cnp.tan, "tanh": cnp.tanh, "sigmoid": F.sigmoid, "relu": F.relu,
    "softmax": lambda x: F.softmax(x), "log_softmax": lambda x: F.log_softmax(x),
    "softplus": lambda x: F.softplus(x),
    "sum": lambda x: cnp.sum(x), "mean": lambda x: cnp.mean(x), "prod": lambda x: cnp.prod(x),
    "dot": cnp.dot, "norm": _norm, "max": lambda *a: cnp.max(a[0]) if len(a) == 1 else cnp.maximum(*a),
    "min": lambda *a: cnp.min(a[0]) if len(a) == 1 else cnp.minimum(*a),
    "log1p": cnp.log1p, "square": cnp.square, "arctan": cnp.arctan, "cosh": cnp.cosh,
    "sinh": cnp.sinh,
}
CONSTANTS = {"pi": np.pi, "e": np.e}
_BINOPS = {ast.Add: ("+", cnp.add), ast.Sub: ("-", cnp.subtract), ast.Mult: ("*", cnp.multiply),
           ast.Div: ("/", cnp.divide), ast.Pow: ("**", cnp.power), ast.Mod: ("%", cnp.mod),
           ast.MatMult: ("@", cnp.matmul)}
_UNARY = {ast.USub: "-", ast.UAdd: "+"}


def parse(text):
    """Check ``text`` and return its tree; raises ExprError naming what is not allowed."""
    if not isinstance(text, str) or not text.strip():
        raise ExprError("empty expression: write something like 'x**2 + 2*y'")
    if len(text) > MAX_LENGTH:
        raise ExprError(f"expression too long ({len(text)} characters; at most {MAX_LENGTH})")
    if text.count("(") + text.count("[") > MAX_DEPTH:
        raise ExprError(f"expression nested too deeply (at most {MAX_DEPTH} brackets)")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as e:
        raise ExprError(f"not a valid expression: {e.msg} (at column {e.offset})") from None
    except (RecursionError, MemoryError, ValueError):
        raise ExprError("expression could not be parsed (too deeply nested?)") from None
    _check(tree.body, 0)
    return tree.body


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
        if isinstance(node.op, ast.Pow):
            _check_exponent(node.right)
        _check(node.left, depth + 1)
        _check(node.right, depth + 1)
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
        if node.func.id not in FUNCTIONS:
            raise ExprError(f"unknown function {node.func.id!r}; allowed: "
                            + ", ".join(sorted(FUNCTIONS)))
        if node.keywords:
            raise ExprError(f"keyword arguments are not allowed in {node.func.id}()")
        for a in node.args:
            if isinstance(a, ast.Starred):
                raise ExprError("*args are not allowed")
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


def evaluate(tree, env):
    """Compute the checked tree with chainrule operations; ``env`` maps names to values."""
    if isinstance(tree, str):
        tree = parse(tree)
    return _eval(tree, env)


def _eval(node, env):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in env:
            return env[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        raise ExprError(f"no value given for {node.id!r}; add it to --at, e.g. --at {node.id}=1")
    if isinstance(node, ast.BinOp):
        a, b = _eval(node.left, env), _eval(node.right, env)
        op, fn = _BINOPS[type(node.op)]
        try:
            return fn(a, b)
        except ValueError as e:
            raise ExprError(f"cannot compute '{op}': {e}") from None
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return cnp.negative(v) if isinstance(node.op, ast.USub) else v
    if isinstance(node, (ast.List, ast.Tuple)):
        items = [_eval(e, env) for e in node.elts]
        return cnp.stack(items) if any(
            not isinstance(i, float) for i in items) else np.array(items)
    if isinstance(node, ast.Call):
        fn = FUNCTIONS[node.func.id]
        args = [_eval(a, env) for a in node.args]
        try:
            return fn(*args)
        except (TypeError, ValueError) as e:
            raise ExprError(f"{node.func.id}(): {str(e).splitlines()[0]}") from None
    raise ExprError(f"{type(node).__name__} is not allowed")  # unreachable after parse()


def parse_values(text):
    """Parse ``--at x=1,y=2,w=[1,2,3]`` into {name: float or ndarray} (numbers only)."""
    values = {}
    if not text:
        return values
    for part in _split_top(text):
        if "=" not in part:
            raise ExprError(f"--at expects name=value pairs, got {part!r}; e.g. --at x=1,y=2")
        name, _, raw = part.partition("=")
        name = name.strip()
        if not name.isidentifier() or name.startswith("_"):
            raise ExprError(f"bad variable name {name!r} in --at")
        try:
            node = ast.parse(raw.strip(), mode="eval").body
        except SyntaxError:
            raise ExprError(f"bad value for {name}: {raw!r}; use a number or a list like [1,2,3]") \
                from None
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
    def num(n):
        if isinstance(n, ast.UnaryOp) and isinstance(n.op, (ast.USub, ast.UAdd)):
            v = num(n.operand)
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
    try:
        arr = np.array(v, dtype=np.float64)
    except ValueError:
        raise ExprError(f"the value of {name} is a ragged list; rows must have equal lengths") \
            from None
    if not np.all(np.isfinite(arr)):
        raise ExprError(f"the value of {name} is not a finite number")
    return float(arr) if arr.ndim == 0 else arr
