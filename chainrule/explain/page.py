"""The chain rule in a browser: one self-contained HTML file to step through a gradient.

``explain_html(f, *args, path="chain.html")`` traces ``f`` and writes a page with

* the graph as inline SVG (``svg.py``), values appearing node by node as the
  forward pass is stepped through, then the backward pass: the seed gradient 1 on
  the output, and at each node the arriving gradient, the local derivative
  (formula and value) and the product sent to each input, with "sum of 2 paths"
  where gradients meet; gate patterns on the edges and kinks marked;
* buttons, a slider and the arrow keys (Home/End, space to play) to step, ``f`` to fit
  the picture to the page's width;
* the table ``chainrule explain`` prints, linked to the picture (hover a row and its
  node lights up, click it to jump there);
* for models (``model=`` or a Module argument) one box per layer with shapes and norms.

Nothing is fetched: styles and script are inline and a Content-Security-Policy of
``default-src 'none'`` makes the browser refuse any request, so the file works from
disk, offline.  The steps are computed here, in Python; the script only shows them.
"""
from __future__ import annotations

import html
import json
from importlib import resources
from pathlib import Path

from ..core.errors import ChainruleError
from . import formula, modules, svg
from .graph import MAX_NODES, Graph, _from_trace, _write, brief, head
from .trace import HEAD, Summary, Trace, args_text, local_text, row_cells, show, trace

GENERATOR = "chainrule explain"            # <meta name="generator">: pages we may overwrite
MAX_ROWS = 3000                            # longer traces: the table and the steps are cut
_CSP = ("default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
        "img-src data:; base-uri 'none'; form-action 'none'")
_GATE_WORDS = {
    "distributes": "add distributes (so do sum, mean ÷n, subtract with a sign): every input "
                   "receives the arriving gradient",
    "swaps": "multiply swaps: each input receives the arriving gradient times the other input",
    "routes": "max routes: all of the arriving gradient goes to the input that won",
    "gates": "relu gates: the gradient passes where the input was positive and is blocked "
             "elsewhere",
}


def explain_html(f, *args, path=None, names=None, model=None, gradient=None, title=None,
                 max_elements=10, layers=True, max_nodes=MAX_NODES):
    """Trace ``f(*args)`` and write the interactive explainer to ``path`` (or return its HTML).

    ``f`` may also be a Trace already recorded.  ``names``, ``model`` and ``gradient`` are
    those of ``cr.trace``; ``title`` heads the page (default: the function's name);
    ``layers=False`` draws a model one op per box; graphs of more than ``max_nodes`` nodes
    are drawn as a summary.  Returns the Path written, or the HTML text when ``path`` is None.
    """
    if isinstance(f, Trace):
        tr = f
    elif callable(f):
        tr = trace(f, *args, names=names, model=model, gradient=gradient,
                   max_elements=max_elements)
    else:
        raise ChainruleError("explain_html", expected="a function and its arguments, or a Trace",
                             actual=type(f).__name__,
                             fix="cr.explain_html(f, x, y, path='page.html')")
    if title is None:
        name = getattr(f, "__name__", "f")
        labels = [r.label for r in tr.rows if r.kind == "leaf"]
        if args and not isinstance(f, Trace):
            labels = [names[i] if names else type(a).__name__ if modules.is_module(a)
                      else getattr(a, "name", None) or f"x{i}" for i, a in enumerate(args)]
        title = f"{'f' if name == '<lambda>' else name}({', '.join(labels)})"
    text = page(tr, title, layers=layers, max_nodes=max_nodes)
    if path is None:
        return text
    path = Path(path)
    _write(path, text.encode("utf-8"))
    return path


def is_ours(path):
    """True if ``path`` is a page this module wrote (so it may be overwritten)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            start = fh.read(2000)
    except OSError:
        return False
    return f'<meta name="generator" content="{GENERATOR}' in start


# ------------------------------------------------------------------ the page
def page(tr, title, layers=True, max_nodes=MAX_NODES):
    """The HTML text of the explainer for Trace ``tr`` (its last backward pass)."""
    k = max(r.backward_pass for r in tr.rows)
    rows = [r for r in tr.rows if r.backward_pass == k]
    cut = len(rows) > MAX_ROWS
    nodes, edges = _from_trace(tr, -1, tr.max_elements, layers)
    g = Graph(nodes, edges, title=title, max_nodes=max_nodes)
    picture = svg.render(g, id_prefix="cr")
    data = _steps(tr, rows[:MAX_ROWS], g)
    data["summarised"] = g.summarised
    body = _table(rows[:MAX_ROWS], g, tr.max_elements)
    note = f"<p class='cr-note'>Only the first {MAX_ROWS:,} of {len(rows):,} rows are shown " \
           "and stepped through.</p>" if cut else ""
    subtitle = _subtitle(tr, rows)
    kinks = f"<pre class='cr-kinks'>{html.escape(tr.kinks.report)}</pre>" if tr.kinks.by_op \
        else ""
    blob = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    from .. import __version__
    return _TEMPLATE.format(
        generator=GENERATOR, version=__version__, csp=_CSP, title=html.escape(title),
        subtitle=subtitle, css=_asset("page.css"), js=_asset("page.js"), svg=picture,
        table=body, note=note, kinks=kinks, data=blob, legend=_legend(g))


def _asset(name):
    return resources.files(__package__).joinpath("static", name).read_text(encoding="utf-8")


def _subtitle(tr, rows):
    m = tr.max_elements
    seed = rows[0]
    leaves = [r for r in rows if r.kind == "leaf"]
    parts = [f"{html.escape(seed.label)} = {html.escape(brief(seed.value, m))}"]
    if leaves:
        parts.append("at " + ", ".join(f"{html.escape(r.label)} = {html.escape(brief(r.value, m))}"
                                       for r in leaves[:12]) + (" …" if len(leaves) > 12 else ""))
        parts.append("gradient: " + ", ".join(
            f"∂{html.escape(seed.label)}/∂{html.escape(r.label)} = "
            f"{html.escape(brief(r.upstream, m))}" for r in leaves[:12]))
    return " · ".join(parts)


def _legend(g):
    gates = sorted({e.gate.split(" ")[0] for e in g.edge_list if e.gate})
    items = [f"<li><b>{html.escape(w)}</b>: {html.escape(_GATE_WORDS[w])}</li>"
             for w in gates if w in _GATE_WORDS]
    if any(n.kinks for n in g.node_list):
        items.append("<li><b class='cr-k-mark'>⚠ kink</b>: an element sat exactly on a "
                     "non-differentiable point; the box's tooltip names the subdifferential and "
                     "the subgradient chainrule used (docs/subgradients.md)</li>")
    return "<ul>" + "".join(items) + "</ul>" if items else ""


def _table(rows, g, m):
    where = {}
    for i, n in enumerate(g.node_list):
        for s in n.rows:
            where[s] = i
    out = ["<table id='cr-table'><thead><tr>"
           + "".join(f"<th>{html.escape(c)}</th>" for c in HEAD) + "</tr></thead>"]
    for r in rows:
        node = where.get(r.step, where.get(_output_row(rows)) if r.kind == "seed" else None)
        attrs = f" data-row='{r.step}'" + ("" if node is None else f" data-node='{node}'")
        lines = row_cells(r, m)
        out.append(f"<tbody class='cr-row'{attrs}>")
        for cells in lines:
            out.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
        out.append("</tbody>")
    out.append("</table>")
    return "\n".join(out)


def _output_row(rows):
    seed = rows[0]
    return next((r.step for r in rows if r.kind == "op" and r.node == seed.node), None)


# ----------------------------------------------------------------- the steps
def _steps(tr, rows, g):
    """What the page shows at each step, and from which step each value is visible."""
    m = tr.max_elements
    n = len(g.node_list)
    node_of = {}
    for i, node in enumerate(g.node_list):
        for s in node.rows:
            node_of[s] = i
    steps = [{"phase": "start", "node": None, "row": None,
              "title": "Press → (or ▶) to run the forward pass",
              "lines": ["The picture is the computation; values appear as the forward pass "
                        "reaches each node, gradients as the backward pass returns.",
                        "Keys: → next, ← back, Home / End, space plays."]}]
    vstep, gstep, estep = [0] * n, [None] * n, [None] * len(g.edge_list)
    by_step = {r.step: r for r in rows}
    # forward: inputs first, then every computed node in creation order
    inputs = [i for i, nd in enumerate(g.node_list) if nd.kind in ("leaf", "const")]
    steps.append({"phase": "forward", "node": None, "row": None,
                  "title": "Forward pass: the inputs",
                  "lines": [f"{head(nd)} = {brief(nd.value, m)}"
                            for nd in (g.node_list[i] for i in inputs[:40])]})
    for i in inputs:
        vstep[i] = 1
    computed = [i for i, nd in enumerate(g.node_list) if nd.kind not in ("leaf", "const")
                and any(s in by_step for s in nd.rows)]          # (rows past a cut: never)
    reached = set(computed)
    for i, nd in enumerate(g.node_list):
        if nd.kind not in ("leaf", "const") and i not in reached:
            vstep[i] = None
    computed.sort(key=lambda i: min((by_step[s].seq for s in g.node_list[i].rows
                                     if s in by_step), default=0))
    for i in computed:
        vstep[i] = len(steps)
        steps.append(_forward_step(g.node_list[i], i, [by_step[s] for s in g.node_list[i].rows
                                                       if s in by_step], m))
    # backward: the seed, then one step per row of the trace
    seed = rows[0]
    out_row = _output_row(rows)
    out_node = node_of.get(out_row)
    if out_node is None:                              # f returned an argument: a leaf row
        out_node = next((node_of[r.step] for r in rows if r.kind == "leaf"), None)
    if out_node is not None:
        gstep[out_node] = len(steps)
    steps.append({"phase": "seed", "node": out_node, "row": seed.step,
                  "title": f"Backward pass: the seed ∂{seed.label}/∂{seed.label} = "
                           f"{brief(seed.upstream, m)}",
                  "lines": _seed_lines(seed, m)})
    sent_to = {}
    for r in rows:
        for inp in r.inputs:
            if inp.node is not None:
                sent_to.setdefault(inp.node, []).append((r.label, inp.sent))
    edges_of = {}
    for k, e in enumerate(g.edge_list):
        edges_of.setdefault(e.row, []).append(k)
    for r in rows[1:]:
        i = node_of.get(r.step)
        if i is not None and gstep[i] is None:
            gstep[i] = len(steps)
        for k in edges_of.get(r.step, ()):
            estep[k] = len(steps)
        steps.append(_backward_step(r, i, sent_to.get(r.node, []), m, tr))
    leaves = [r for r in rows if r.kind == "leaf"]
    steps.append({"phase": "done", "node": None, "row": None,
                  "title": "Done: every leaf holds its gradient",
                  "lines": [f"∂{seed.label}/∂{r.label} = {brief(r.upstream, m)}"
                            for r in leaves[:40]]
                  + ["Each was built by multiplying local derivatives along the paths from "
                     f"{seed.label} back to the leaf and adding the paths up: the chain rule."]})
    last = len(steps) - 1
    return {"steps": steps, "vstep": [last if s is None else s for s in vstep],
            "gstep": [last if s is None else s for s in gstep],
            "estep": [last if s is None else s for s in estep],
            "rowstep": {str(s["row"]): k for k, s in enumerate(steps)
                        if s["row"] is not None and s["phase"] != "seed"}}


def _forward_step(node, i, rows, m):
    if node.kind.startswith("layer"):
        lines = [f"operations: {', '.join(r.op for r in sorted(rows, key=lambda r: r.seq))}",
                 f"output shape {tuple(node.shape)}, value {brief(node.value, m)}"]
        return {"phase": "forward", "node": i, "row": None,
                "title": f"Forward: layer {head(node)}", "lines": lines}
    r = rows[0]
    lines = [f"{r.label} = {r.op}({args_text(r, m)})" + (f" with {r.kw}" if r.kw else "")]
    values = [show(inp.value, m) if inp.node is None else None for inp in r.inputs]
    if all(v is None or len(v) <= 12 for v in values):
        lines.append(f"= {brief(node.value, m)}" + (f"   (shape {tuple(node.shape)})"
                                                    if node.shape != () else ""))
    return {"phase": "forward", "node": i, "row": r.step,
            "title": f"Forward: {head(node)} = {brief(node.value, m)}", "lines": lines}


def _seed_lines(seed, m):
    one = not isinstance(seed.upstream, Summary) and seed.value is not None and \
        getattr(seed.upstream, "size", 1) == 1
    if one:
        return [f"Backpropagation starts by putting a gradient of 1 on the output: "
                f"∂{seed.label}/∂{seed.label} = 1.",
                "This is the Deep Learning Book's \"the cost puts a gradient of 1 on ŷ\" "
                "(seed 000): a change of ε in the output changes it by 1·ε.",
                "From here every node multiplies the gradient arriving at it by its local "
                "derivative and sends the product to its inputs."]
    return [f"The output is not a scalar: the seed is the given gradient "
            f"{brief(seed.upstream, m)} (the v of a vector-Jacobian product)."]


def _backward_step(r, i, parts, m, tr):
    if r.kind == "leaf":
        lines = []
        if r.paths > 1:
            lines.append(_sum_line(r, parts, m))
        lines.append(f"{r.label} is a leaf: backward() stores this in {r.label}.grad")
        return {"phase": "leaf", "node": i, "row": r.step,
                "title": f"∂L/∂{r.label} = {brief(r.upstream, m)}", "lines": lines}
    lines = [f"arriving: ∂L/∂{r.label} = {brief(r.upstream, m)}"]
    if r.paths > 1:
        lines.append(_sum_line(r, parts, m))
    for inp in r.inputs:
        if inp.node is None:
            continue
        local = local_text(r, inp, m) or "(see the op's rule)"
        lines.append(f"→ {inp.label}: local derivative ∂{r.label}/∂{inp.label} = {local}; "
                     f"sends ∂L/∂{r.label} × local = {brief(inp.sent, m)}")
    words = {formula.gate(r, inp).split(" ")[0] for inp in r.inputs if inp.node is not None}
    lines += [_GATE_WORDS[w] for w in sorted(words) if w in _GATE_WORDS]
    if r.kinks:
        c = tr.kinks.by_op.get(r.op)
        extra = f" ({c.where}): the subdifferential there is {c.subdifferential}; " \
                f"chainrule used the subgradient {c.chosen}" if c else ""
        lines.append(f"⚠ {r.kinks} element(s) at a kink{extra}")
    return {"phase": "backward", "node": i, "row": r.step,
            "title": f"Backward through {r.label} = {r.op}", "lines": lines}


def _sum_line(r, parts, m):
    terms = " + ".join(brief(s, m) for _, s in parts) if len(parts) <= 6 else "…"
    return f"sum of {r.paths} paths: ∂L/∂{r.label} = {terms} = {brief(r.upstream, m)}"


_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="{generator} {version}">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · chainrule</title>
<style>
{css}
</style>
</head>
<body>
<header>
<h1>{title}</h1>
<p class="cr-sub">{subtitle}</p>
</header>
<nav id="cr-controls" aria-label="step through the passes">
<button type="button" id="cr-first" title="first step (Home)">|◀</button>
<button type="button" id="cr-prev" title="previous step (←)">◀</button>
<button type="button" id="cr-play" title="play / pause (space)">▶ play</button>
<button type="button" id="cr-next" title="next step (→)">▶</button>
<button type="button" id="cr-last" title="last step (End)">▶|</button>
<input type="range" id="cr-slider" min="0" max="0" value="0" aria-label="step">
<span id="cr-counter"></span>
<button type="button" id="cr-fit" title="fit the picture to the page's width (f)">fit</button>
</nav>
<section id="cr-explain" aria-live="polite">
<div id="cr-phase"></div>
<h2 id="cr-title"></h2>
<ul id="cr-lines"></ul>
</section>
<div id="cr-graph-wrap">
{svg}
</div>
<section id="cr-legend">{legend}</section>
<section id="cr-table-wrap">
<h2>The table <span class="cr-note">(as <code>chainrule explain</code> prints it; hover a row
to light its node, click to jump there)</span></h2>
{note}
{table}
{kinks}
</section>
<footer>Written by chainrule {version}. This file is self-contained: no network, no external
scripts, styles or fonts.</footer>
<script type="application/json" id="cr-data">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""
