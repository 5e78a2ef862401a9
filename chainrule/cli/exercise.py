"""``chainrule exercise [NAME] [--answer ...]``: work a backward pass by hand and get it marked.

Answers are parsed like ``--at`` (numbers and nested lists only, never evaluated);
an answers file is JSON.  Exit status: 0 when every asked gradient is right,
1 when one is wrong or missing, 2 for a mistake in the command itself.
"""
from __future__ import annotations

import json

from ..core.errors import ChainruleError
from . import expr as E
from .explain import _check_output, _guarded

ORDER = 13


def register(sub):
    p = sub.add_parser("exercise", help="work a backward pass by hand; chainrule marks it",
                       description="Without NAME: the list of exercises. With NAME: the task "
                                   "(forward values, the gradients to find). With --answer: "
                                   "each gradient marked exact / close / wrong / wrong shape, "
                                   "and the rule for the first wrong one. Example: chainrule "
                                   "exercise chain --answer y_hat=-2.092,w1=1.632")
    p.add_argument("name", nargs="?", help="the exercise (omit it for the list)")
    p.add_argument("--answer", metavar="VALUES", help="your gradients ∂L/∂node: name=value "
                   "pairs, lists for arrays, e.g. y_hat=-2.09,W=[[1,2],[3,4]]")
    p.add_argument("--answers", metavar="FILE", help="your gradients in a JSON file "
                   "{\"name\": number or nested list}")
    p.add_argument("--solution", action="store_true",
                   help="print the worked solution (from the seed's formulas) and mark it")
    p.add_argument("--rtol", type=float, default=1e-3,
                   help="relative tolerance for 'close' (default 1e-3)")
    p.add_argument("--html", metavar="FILE", help="also write the step-by-step page of the "
                   "exercise's backward pass (self-contained HTML)")
    p.add_argument("--force", action="store_true",
                   help="let --html replace an existing file")
    p.set_defaults(func=_guarded(run))


def _load(path):
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as e:
        raise ChainruleError("exercise", message=f"cannot read {path}: {e.strerror}",
                             fix="give the path of a JSON file") from None
    except json.JSONDecodeError as e:
        raise ChainruleError("exercise", message=f"{path} is not valid JSON: {e.msg} "
                             f"(line {e.lineno})", fix='write {"w1": 1.632, "W": [[1, 2]]}') \
            from None
    if not isinstance(data, dict):
        raise ChainruleError("exercise", message=f"{path} must hold a JSON object",
                             expected='{"name": value, ...}', actual=type(data).__name__,
                             fix='write {"w1": 1.632}')
    return data


def _show(v):
    from .grad import fmt
    return fmt(v)


def run(args):
    from ..explain import exercises
    from ..explain.exercise import exercise
    if not args.name:
        print("exercises (chainrule exercise NAME shows one):")
        for name, spec in exercises.EXERCISES.items():
            print(f"  {name:<9} {spec.title.split(': ', 1)[-1]}")
        return 0
    if not (args.rtol > 0):
        raise ChainruleError("exercise", expected="--rtol a positive number",
                             actual=repr(args.rtol), fix="e.g. --rtol 1e-3")
    ex = exercise(args.name, rtol=args.rtol)
    if args.html:
        _check_output(args.html, ("html", "htm"), args.force, "--html")
    answers = {}
    if args.answers:
        answers.update(_load(args.answers))
    if args.answer:
        answers.update(E.parse_values(args.answer))
    if args.solution:
        print(ex)
        print()
        print("worked solution (the seed's formulas, evaluated at the forward values):")
        sol = ex.solution()
        for name, g in sol.items():
            print(f"  ∂L/∂{name} = {_show(g)}")
        answers = sol
        print()
    elif not answers:
        print(ex)
        print()
        names = ",".join(f"{n}=..." for n in ex.asked)
        print(f"answer with: chainrule exercise {args.name} --answer {names}")
        print("(or --answers FILE.json; --solution shows the worked solution)")
        _page(ex, args)
        return 0
    report = ex.check(answers)
    print(report)
    _page(ex, args)
    return 0 if report.passed else 1


def _page(ex, args):
    if args.html:
        from ..explain.page import explain_html
        explain_html(ex.trace, path=args.html, title=ex.title)
        print(f"wrote {args.html} (open it in a browser; it works offline)")
