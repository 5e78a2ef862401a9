"""What every seed example shares: the --out option, and pictures that degrade to a note.

The examples print their numbers even without matplotlib, so the arithmetic
of a seed can be checked on a bare install.
"""
from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
if os.path.dirname(HERE) not in sys.path:          # run from a checkout without installing
    sys.path.insert(0, os.path.dirname(HERE))


def cli(main, doc):
    """Parse ``--out DIR`` (default ./examples-out), run ``main(out)``, exit 0."""
    p = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    p.add_argument("--out", default="examples-out", help="folder for the pictures "
                   "(default ./examples-out)")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)
    main(args.out)
    return 0


def picture(out, name, draw, *args, **kw):
    """Save ``draw(*args, path=out/name, **kw)``; without matplotlib say so and go on."""
    path = os.path.join(out, name)
    try:
        draw(*args, path=path, **kw)
    except ImportError:             # matplotlib is missing: the numbers above still stand
        print(f"(no picture {name}: pictures need matplotlib: pip install 'chainrule[plot]')")
        return None
    print(f"wrote {path}")
    return path


def heading(text):
    print()
    print(text)
    print("-" * len(text))
