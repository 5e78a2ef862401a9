"""Write docs/coverage.md: what chainrule does with every public NumPy callable.

    python tools/coverage.py          # rewrite the table
    python tools/coverage.py --check  # exit 1 if it is out of date (what the tests check)
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PATH = os.path.join(ROOT, "docs", "coverage.md")


def main(argv):
    sys.path.insert(0, ROOT)
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from chainrule.numpy import coverage
    from generated import write_or_check
    return write_or_check(PATH, coverage.markdown(), argv, "python tools/coverage.py")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
