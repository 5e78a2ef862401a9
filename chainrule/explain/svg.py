"""Graph → SVG text, in pure Python (no Graphviz): boxes, curved edges, labels, kink marks.

Scalars get micrograd's record, ``w1 | data 0.7 | grad 1.632``; arrays their shape and
value (whole when small, else norm, min and max).  Edges carry the gradient sent back
along them and the gate pattern.  Every box and edge has ``data-`` attributes and
classes (``cr-node``, ``cr-val``, ``cr-grad``, ``cr-edge``, ``cr-sent``) that the
interactive page (``page.py``) uses to step through the passes.
"""
from __future__ import annotations

from collections import Counter
from html import escape

from . import layout
from .graph import brief, head
from .trace import Summary, show

FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif"
LINE = 15.0                          # line height, px
PAD = 8.0
CHAR = 6.4                           # estimated advance of one 11 px character
CHAR_HEAD = 7.0                      # ... of one 12 px bold character
FILL = {"leaf": ("#dbeafe", "#3b82f6"), "op": ("#f3f4f6", "#6b7280"),
        "output": ("#fde68a", "#d97706"), "layer": ("#ede9fe", "#7c3aed"),
        "layer output": ("#fde68a", "#7c3aed"), "const": ("#ffffff", "#9ca3af"),
        "freed": ("#e5e7eb", "#9ca3af")}
KINK = "#ea580c"


def _w(text, char=CHAR):
    return len(text) * char


def _attr(text):
    return escape(str(text), quote=True)


class _Box:
    """What one node shows, and how big that is."""

    def __init__(self, node, g):
        m = g.max_elements
        self.head = head(node)
        self.lines = []                       # (class, key, value) rows under the header
        self.record = None                    # scalar: (value text, grad text) side by side
        scalar = node.shape == () and node.kind != "layer"
        if node.shape != () or node.kind.startswith("layer"):
            self.lines.append(("cr-shape", "shape ", str(tuple(node.shape))))
        if node.kind.startswith("layer") and node.ops:
            ops = ", ".join(dict.fromkeys(node.ops))
            self.lines.append(("cr-ops", "ops ", ops if len(ops) <= 40 else ops[:39] + "…"))
        val = brief(node.value, m) if g.show_values and node.value is not None else None
        grad = brief(node.grad, m) if g.show_grads and node.grad is not None else None
        wants_grad = g.show_grads and node.kind != "const"
        if scalar and node.kind != "const":
            self.record = (val or "", grad if grad is not None else "")
        else:
            if val is not None:
                self.lines.append(("cr-val", "data ", val))
            if wants_grad and node.kind != "freed":
                self.lines.append(("cr-grad", "grad ", grad or ""))
        self.kink = f"⚠ {node.kinks} at a kink" if node.kinks else ""
        if node.kink_choice and len(node.kink_choice) <= 36:
            self.kink += f": {node.kink_choice}"
        widths = [_w(self.head, CHAR_HEAD)] + [_w(k + v) for _, k, v in self.lines]
        if self.record:
            widths.append(_w("data " + self.record[0]) + _w("grad " + self.record[1]) + 3 * PAD)
        if self.kink:
            widths.append(_w(self.kink))
        self.w = max(widths) + 2 * PAD
        rows = 1 + len(self.lines) + (1 if self.record else 0) + (1 if self.kink else 0)
        self.h = rows * LINE + PAD


def render(g, id_prefix="cr"):
    """The SVG of Graph ``g`` (a summary card when it has more than ``g.max_nodes`` nodes)."""
    if g.summarised:
        return summary(g)
    boxes = [_Box(n, g) for n in g.node_list]
    pairs = [(e.src, e.dst) for e in g.edge_list]
    labels = [_edge_text(e, g) for e in g.edge_list]
    layer = layout.layer_of(len(boxes), pairs)
    gaps = {}
    for (u, v), (sent, gate) in zip(pairs, labels):
        k = max(layer[v] - 1, 0)
        gaps[k] = max(gaps.get(k, 0.0), max(_w(sent), _w(gate)) + 36)
    gap_list = [gaps.get(k, 0.0) for k in range(max(layer, default=0) + 1)]
    lay = layout.layered([(b.w, b.h) for b in boxes], pairs, g.rankdir,
                         gaps=gap_list if g.rankdir in ("LR", "RL") else None, layer=layer)
    ends = [_points(e, route, boxes, g.rankdir) for e, route in zip(g.edge_list, lay.routes)]
    spots = _label_spots(ends, labels, layer, pairs, g.rankdir, lay.bands)
    # labels spread apart may stick out of the picture: grow it
    lo_x, lo_y, hi_x, hi_y = 0.0, 0.0, lay.width, lay.height
    for (x, y), (sent, gate) in zip(spots, labels):
        if sent or gate:
            half_w, half_h = max(_w(sent), _w(gate)) / 2 + 4, LINE + 2
            lo_x, hi_x = min(lo_x, x - half_w), max(hi_x, x + half_w)
            lo_y, hi_y = min(lo_y, y - half_h), max(hi_y, y + half_h)
    width, height = hi_x - lo_x, hi_y - lo_y
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cr-graph" id="{id_prefix}-graph" '
           f'width="{width:.0f}" height="{height:.0f}" '
           f'viewBox="{lo_x:.1f} {lo_y:.1f} {width:.1f} {height:.1f}" '
           f'font-family="{_attr(FONT)}" font-size="11">',
           f'<defs><marker id="{id_prefix}-arrow" viewBox="0 0 10 10" refX="9" refY="5" '
           'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
           '<path d="M0,0 L10,5 L0,10 z" fill="#6b7280"/></marker></defs>']
    if g.title:
        out.append(f"<title>{escape(g.title)}</title>")
    for k, (e, pts, spot, (sent, gate)) in enumerate(zip(g.edge_list, ends, spots, labels)):
        out.append(_edge(k, e, pts, spot, g.rankdir, sent, gate, id_prefix))
    for i, (node, box, c) in enumerate(zip(g.node_list, boxes, lay.centers)):
        out.append(_node(i, node, box, c, g, id_prefix))
    out.append("</svg>")
    return "\n".join(out)


def _edge_text(e, g):
    sent = ""
    if g.show_grads and e.sent is not None:
        sent = "← " + (brief(e.sent, g.max_elements) if not isinstance(e.sent, Summary)
                       else f"norm {e.sent.norm:.4g}")
    return sent, e.gate


def _end(center, box, rankdir, leaving):
    x, y = center
    if rankdir in ("LR", "RL"):
        dx = box.w / 2 * (1 if (rankdir == "LR") == leaving else -1)
        return (x + dx, y)
    dy = box.h / 2 * (1 if (rankdir == "TB") == leaving else -1)
    return (x, y + dy)


def _curve(points, horizontal):
    d = [f"M{points[0][0]:.1f},{points[0][1]:.1f}"]
    for (x0, y0), (x1, y1) in zip(points, points[1:]):
        if horizontal:
            mx = (x0 + x1) / 2
            d.append(f"C{mx:.1f},{y0:.1f} {mx:.1f},{y1:.1f} {x1:.1f},{y1:.1f}")
        else:
            my = (y0 + y1) / 2
            d.append(f"C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}")
    return " ".join(d)


def _points(e, route, boxes, rankdir):
    """The edge's route from the border of its source box to the border of its target."""
    if len(route) == 1:                      # a node feeding itself (never in a DAG): no line
        return []
    return [_end(route[0], boxes[e.src], rankdir, True)] + route[1:-1] + \
        [_end(route[-1], boxes[e.dst], rankdir, False)]


def _label_spots(ends, labels, layer, pairs, rankdir, bands):
    """Label centres: on the last segment, half-way across the gap before the target's layer
    (clear of the boxes on either side), then spread apart within each gap."""
    horizontal = rankdir in ("LR", "RL")
    along = 0 if horizontal else 1
    spots = []
    for pts, (u, v) in zip(ends, pairs):
        if not pts:
            spots.append((0.0, 0.0))
            continue
        a, b = pts[-2], pts[-1]
        k = layer[v]
        if 0 < k < len(bands) + 1 and k - 1 < len(bands) and k < len(bands):
            prev, here = bands[k - 1], bands[k]
            gap_mid = (max(prev) + min(here)) / 2 if max(prev) <= min(here) else \
                (min(prev) + max(here)) / 2
        else:
            gap_mid = (a[along] + b[along]) / 2
        span = b[along] - a[along]
        t = 0.5 if abs(span) < 1e-9 else min(1.0, max(0.0, (gap_mid - a[along]) / span))
        spots.append((a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1])))
    horizontal = rankdir in ("LR", "RL")
    groups = {}
    for k, ((u, v), (sent, gate)) in enumerate(zip(pairs, labels)):
        if ends[k] and (sent or gate):
            groups.setdefault(layer[v], []).append(k)
    for ks in groups.values():
        axis = 1 if horizontal else 0
        ks.sort(key=lambda k: spots[k][axis])
        size = [(LINE * sum(1 for t in labels[k] if t) + 2) if horizontal else
                max(_w(t) for t in labels[k]) + 8 for k in ks]
        offset = [0.0]
        for a, b in zip(size, size[1:]):
            offset.append(offset[-1] + (a + b) / 2)
        fitted = layout.isotonic([spots[k][axis] - o for k, o in zip(ks, offset)])
        for k, z, o in zip(ks, fitted, offset):
            x, y = spots[k]
            spots[k] = (x, z + o) if horizontal else (z + o, y)
    return spots


def _edge(k, e, pts, spot, rankdir, sent, gate, prefix):
    if not pts:
        return ""
    horizontal = rankdir in ("LR", "RL")
    lx, ly = spot
    row = "" if e.row is None else f' data-row="{e.row}"'
    parts = [f'<g class="cr-edge" id="{prefix}-e{k}" data-src="{e.src}" data-dst="{e.dst}"{row}>',
             f"<title>{escape(_edge_title(e, sent))}</title>",
             f'<path d="{_curve(pts, horizontal)}" fill="none" stroke="#6b7280" '
             f'stroke-width="1.3" marker-end="url(#{prefix}-arrow)"/>']
    if sent or gate:
        w = max(_w(sent), _w(gate)) + 6
        lines = [t for t in (sent, gate) if t]
        h = LINE * len(lines)
        parts.append(f'<rect class="cr-lbg" x="{lx - w / 2:.1f}" y="{ly - h / 2 - 2:.1f}" '
                     f'width="{w:.1f}" height="{h:.1f}" rx="3" fill="#ffffff" '
                     'fill-opacity="0.85"/>')
        y = ly - h / 2 + LINE - 4
        if sent:
            parts.append(f'<text class="cr-sent" x="{lx:.1f}" y="{y:.1f}" text-anchor="middle" '
                         f'fill="#b91c1c">{escape(sent)}</text>')
            y += LINE
        if gate:
            parts.append(f'<text class="cr-gate" x="{lx:.1f}" y="{y:.1f}" text-anchor="middle" '
                         f'fill="#1d4ed8" font-style="italic">{escape(gate)}</text>')
    parts.append("</g>")
    return "".join(parts)


def _edge_title(e, sent):
    if not sent:
        return "data flows this way"
    text = f"gradient sent back: {sent[2:]}"
    if e.local:
        text += f" = arriving × local derivative ({e.local})"
    if e.gate:
        text += f"; the op {e.gate}"
    return text


def _node(i, node, box, c, g, prefix):
    fill, stroke = FILL.get(node.kind, FILL["op"])
    width, dash = 1.2, ""
    if node.kind == "const":
        dash = ' stroke-dasharray="4 3"'
    if node.kinks:
        stroke, width = KINK, 2.6
    x0, y0 = c[0] - box.w / 2, c[1] - box.h / 2
    rows = " ".join(str(r) for r in node.rows)
    out = [f'<g class="cr-node cr-{node.kind.replace(" ", "-")}" id="{prefix}-n{i}" '
           f'data-node="{i}" data-label="{_attr(node.label)}" data-rows="{rows}">',
           f"<title>{escape(_node_title(node, g))}</title>",
           f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{box.w:.1f}" height="{box.h:.1f}" rx="6" '
           f'fill="{fill}" stroke="{stroke}" stroke-width="{width}"{dash}/>']
    y = y0 + PAD / 2 + LINE - 3
    colour = "#6b7280" if node.kind in ("const", "freed") else "#111827"
    out.append(f'<text class="cr-head" x="{c[0]:.1f}" y="{y:.1f}" text-anchor="middle" '
               f'font-size="12" font-weight="600" fill="{colour}">{escape(box.head)}</text>')
    for cls, key, value in box.lines:
        y += LINE
        out.append(_cell(cls, key, value, c[0], y, "middle"))
    if box.record:
        y += LINE
        out.append(f'<line x1="{c[0]:.1f}" y1="{y - LINE + 4:.1f}" x2="{c[0]:.1f}" '
                   f'y2="{y + 4:.1f}" stroke="{stroke}" stroke-width="0.8"/>')
        out.append(_cell("cr-val", "data ", box.record[0], c[0] - PAD, y, "end"))
        out.append(_cell("cr-grad", "grad ", box.record[1], c[0] + PAD, y, "start"))
    if box.kink:
        y += LINE
        out.append(f'<text class="cr-kink" x="{c[0]:.1f}" y="{y:.1f}" text-anchor="middle" '
                   f'fill="{KINK}" font-weight="600">{escape(box.kink)}</text>')
    out.append("</g>")
    return "".join(out)


def _cell(cls, key, value, x, y, anchor):
    colour = "#b91c1c" if cls == "cr-grad" else "#374151"
    return (f'<text class="{cls}" x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" '
            f'fill="{colour}"><tspan class="cr-k" fill="#6b7280">{escape(key)}</tspan>'
            f'<tspan class="cr-v">{escape(value)}</tspan></text>')


def _node_title(node, g):
    m = g.max_elements
    lines = [head(node), f"shape {tuple(node.shape)}"]
    if node.value is not None:
        lines.append(f"value {show(node.value, m)}")
    if node.grad is not None:
        lines.append(f"∂L/∂{node.label or 'node'} {show(node.grad, m)}")
    if node.kink_note:
        lines.append(f"⚠ {node.kinks} element(s) at a kink — {node.kink_note}")
    return "\n".join(lines)


# ------------------------------------------------------------------ summary
def summary(g):
    """A card describing a graph too large to lay out: counts, depth, the ends."""
    nodes, edges = g.node_list, g.edge_list
    kinds = Counter(n.kind for n in nodes)
    ops = Counter(n.op for n in nodes if n.op and not n.kind.startswith("layer"))
    depth = max(layout.layer_of(len(nodes), [(e.src, e.dst) for e in edges]), default=0) + 1
    leaves = [n.label for n in nodes if n.kind == "leaf"]
    out_node = next((n for n in nodes if n.kind in ("output", "layer output")), None)
    lines = [f"Graph too large to draw: {len(nodes):,} nodes, {len(edges):,} edges "
             f"(more than max_nodes={g.max_nodes:,})",
             f"depth {depth:,} layers; {kinds.get('leaf', 0):,} leaves, "
             f"{kinds.get('const', 0):,} constants",
             "operations: " + ", ".join(f"{op} ×{k:,}" for op, k in ops.most_common(6))
             + (" …" if len(ops) > 6 else "")]
    if leaves:
        lines.append("leaves: " + ", ".join(leaves[:8]) + (" …" if len(leaves) > 8 else ""))
    if out_node is not None:
        text = f"output {head(out_node)}: value {brief(out_node.value, g.max_elements)}"
        if out_node.grad is not None:
            text += f", grad {brief(out_node.grad, g.max_elements)}"
        lines.append(text)
    lines.append("to draw it anyway pass max_nodes=…; for models pass model= to get one box "
                 "per layer")
    w = max(_w(t) for t in lines) + 2 * PAD + 8
    h = LINE * len(lines) + 2 * PAD + 8
    body = [f'<svg xmlns="http://www.w3.org/2000/svg" class="cr-graph cr-summary" '
            f'width="{w:.0f}" height="{h:.0f}" viewBox="0 0 {w:.1f} {h:.1f}" '
            f'font-family="{_attr(FONT)}" font-size="11">',
            f'<rect x="2" y="2" width="{w - 4:.1f}" height="{h - 4:.1f}" rx="8" fill="#f9fafb" '
            'stroke="#9ca3af"/>']
    for k, t in enumerate(lines):
        weight = ' font-weight="600"' if k == 0 else ""
        body.append(f'<text x="{PAD + 4:.1f}" y="{PAD + 4 + LINE * (k + 1) - 4:.1f}"{weight} '
                    f'fill="#111827">{escape(t)}</text>')
    body.append("</svg>")
    return "\n".join(body)
