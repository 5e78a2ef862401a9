"""docs/explain.md: every Python block runs on its own, and prints what the page shows."""
import contextlib
import io
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "explain.md"
# a python block, then (optionally) the plain block that shows its output
BLOCK = re.compile(r"```python\n(.*?)```\n(?:\n```\n(.*?)```)?", re.S)


def _blocks():
    return [(k, m.group(1), m.group(2)) for k, m in enumerate(BLOCK.finditer(DOC.read_text()))]


def test_the_doc_has_blocks_and_the_screenshot():
    assert len(_blocks()) >= 12
    text = DOC.read_text()
    assert "](explain-page.png)" in text
    png = ROOT / "docs" / "explain-page.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


@pytest.mark.parametrize("k, code, shown", _blocks(), ids=lambda v: str(v)[:12])
def test_block_runs_alone_and_prints_what_is_shown(k, code, shown, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                    # blocks may write chain.html, chain.svg
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, f"{DOC.name} block {k}", "exec"), {"__name__": "__doc_block__"})
    if shown is not None:
        assert out.getvalue() == shown
