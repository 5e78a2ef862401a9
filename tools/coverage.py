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
    from chainrule.numpy import coverage
    text = coverage.markdown()
    if "--check" in argv:
        with open(PATH, encoding="utf-8") as f:
            current = f.read()
        if current != text:
            print(f"{PATH} is out of date: run python tools/coverage.py", file=sys.stderr)
            return 1
        return 0
    tmp = PATH + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, PATH)
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
