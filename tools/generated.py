"""Writing a generated page, or checking that it is current (what the tests run)."""
import os
import sys


def write_or_check(path, text, argv, command):
    """``--check`` in argv: exit status 1 if ``path`` differs from ``text``; otherwise write it
    atomically."""
    if "--check" in argv:
        try:
            with open(path, encoding="utf-8") as f:
                current = f.read()
        except FileNotFoundError:
            current = None
        if current != text:
            print(f"{path} is out of date: run {command}", file=sys.stderr)
            return 1
        return 0
    tmp = path + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)
    print(f"wrote {path}")
    return 0
