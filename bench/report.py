"""Tables, verdicts and the markdown section, from the results ``run.py`` collects."""
from __future__ import annotations

import os
import platform

from bench import workloads as W

PEERS = ("torch", "autograd", "mygrad")       # chainrule must beat these on every workload
MEMORY_TARGET = 1.2
COMPILED = "chainrule-compiled"
# cr.compile's targets (docs/compile.md): compiled time ÷ hand-written NumPy time, same run
COMPILED_TARGETS = {"W1": 1.00, "W1_f64": 1.00, "W2": 0.90, "W3": 1.20, "W4": 1.02, "W5": 1.10,
                    "W6": 1.00}
COMPILED_MEMORY_TARGET = 1.1
NUMBA, NUMBA_TARGETS = "chainrule-numba", {"W2": 0.30}    # backend="numba": the fusion target
START, END = "<!-- bench:results:start -->", "<!-- bench:results:end -->"


def _t(sec):
    if sec is None:
        return "-"
    if sec < 1e-3:
        return f"{sec * 1e6:.1f} µs"
    if sec < 1:
        return f"{sec * 1e3:.2f} ms"
    return f"{sec:.2f} s"


def _mb(b):
    return f"{b / 2**20:.1f} MiB" if b >= 2**20 else f"{b / 2**10:.0f} KiB"


def _ok(r):
    return r is not None and r.get("status") == "ok"


def ratio(res, f):
    ref, r = res.get("numpy"), res.get(f)
    return r["median"] / ref["median"] if _ok(r) and _ok(ref) else None


def mode_sizes(run, name):
    return W.sizes(name, run["mode"])


def notes(name, res, f, run):
    """Per-workload extras: µs per op, GFLOP/s, peak memory."""
    r, out = res[f], []
    if name == "W2":
        out.append(f"{r['median'] * 1e6 / mode_sizes(run, name)['ops']:.2f} µs/op")
    fl = W.flops(name, run["mode"])
    if name == "W6" and fl:
        out.append(f"{fl / r['median'] / 1e9:.1f} GFLOP/s")
        if r.get("gemm_gflops"):
            out.append(f"GEMMs alone {r['gemm_gflops']:.1f} GFLOP/s")
    if r.get("mem_peak") is not None:
        m = f"peak {_mb(r['mem_peak'])}"
        ref = res.get("numpy", {}).get("mem_peak")
        if ref and f != "numpy":
            m += f" ({r['mem_peak'] / ref:.2f}×)"
        out.append(m)
    elif name in ("W1", "W6") and f in ("torch", "jax"):
        out.append("memory not traced")
    if r.get("compile_ms") is not None:
        out.append(f"compiled in {r['compile_ms']:.0f} ms ({r.get('nodes')} values)")
    return ", ".join(out)


def rows(results, run):
    """(workload, framework, median, min, ratio, notes or reason) for every cell."""
    out = []
    for name, res in results.items():
        for f, r in res.items():
            if _ok(r):
                x = ratio(res, f)
                out.append((name, f, _t(r["median"]), _t(r["min"]),
                            f"{x:.2f}" if x is not None else "-", notes(name, res, f, run)))
            else:
                out.append((name, f, "-", "-", "-", f"{r.get('status')}: {r.get('reason', '')}"))
    return out


def verdicts(results, run):
    """[(what, target text, chainrule value text, versus peers text, verdict)]."""
    out = []
    for name, res in results.items():
        spec, cr = W.SPECS[name], res.get("chainrule")
        if not _ok(cr):
            continue
        if "target_us_per_op" in spec:
            value = cr["median"] * 1e6 / mode_sizes(run, name)["ops"]
            target, met = f"≤ {spec['target_us_per_op']:g} µs/op", value <= spec["target_us_per_op"]
            vtext = f"{value:.2f} µs/op"
        else:
            value = ratio(res, "chainrule")
            target, met = f"≤ {spec['target']:.2f}× NumPy", value is not None and value <= spec["target"]
            vtext = f"{value:.2f}×" if value is not None else "-"
        peers, slower = [], []
        for p in PEERS:
            if _ok(res.get(p)):
                k = cr["median"] / res[p]["median"]
                peers.append(f"{k:.2f}× {p}")
                if k >= 1:
                    slower.append(p)
            else:
                peers.append(f"{p} n/a")
        why = ([] if met else ["target"]) + ([f"slower than {', '.join(slower)}"] if slower else [])
        out.append((name, target, vtext, ", ".join(peers), "met" if not why else "MISSED: " + "; ".join(why)))
    for name in ("W1", "W6"):
        res = results.get(name, {})
        a, b = res.get("chainrule", {}).get("mem_peak"), res.get("numpy", {}).get("mem_peak")
        if a and b:
            k = a / b
            out.append((f"{name} memory", f"≤ {MEMORY_TARGET}× NumPy", f"{k:.2f}×", "",
                        "met" if k <= MEMORY_TARGET else "MISSED: target"))
    return out


def compiled_verdicts(results):
    """[(what, target, compiled ratio, versus jax.jit, verdict)] for cr.compile's targets."""
    out = []
    for row, targets, label in ((COMPILED, COMPILED_TARGETS, ""), (NUMBA, NUMBA_TARGETS, " numba")):
        for name, res in results.items():
            r, target = res.get(row), targets.get(name)
            if not _ok(r) or target is None:
                continue
            x = ratio(res, row)
            jax = res.get("jax")
            versus = f"{r['median'] / jax['median']:.2f}× jax.jit" if _ok(jax) else "jax n/a"
            out.append((name + label, f"≤ {target:.2f}× NumPy",
                        f"{x:.2f}×" if x is not None else "-", versus,
                        "met" if x is not None and x <= target else "MISSED: target"))
    for name in ("W1", "W6"):
        res = results.get(name, {})
        a, b = res.get(COMPILED, {}).get("mem_peak"), res.get("numpy", {}).get("mem_peak")
        if a and b:
            k = a / b
            out.append((f"{name} memory", f"≤ {COMPILED_MEMORY_TARGET}× NumPy", f"{k:.2f}×", "",
                        "met" if k <= COMPILED_MEMORY_TARGET else "MISSED: target"))
    return out


def failures(results):
    return [f"{name}/{f}: {r['status']}: {r.get('reason')}" for name, res in results.items()
            for f, r in res.items() if r.get("status") in ("mismatch", "error")]


def _table(header, body, md=False):
    if md:
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
        return lines + ["| " + " | ".join(str(c).replace("|", "/") for c in row) + " |"
                        for row in body]
    widths = [max(len(str(r[i])) for r in [header] + body) for i in range(len(header))]
    fmt = lambda r: "  ".join(str(c).ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return [fmt(header), fmt(["-" * w for w in widths])] + [fmt(r) for r in body]


ROW_HEAD = ["workload", "framework", "median", "min", "× NumPy", "notes"]
VERDICT_HEAD = ["check", "target", "chainrule", "chainrule time ÷ peer time", "verdict"]
COMPILED_HEAD = ["check", "target", "compiled", "compiled time ÷ jax.jit time", "verdict"]


def text(results, run):
    lines = [f"chainrule benchmarks ({run['mode']}, {run['threads']} thread(s), "
             f"{run['seconds']:.0f} s); ratios = median ÷ hand-written NumPy median, same run", ""]
    body = rows(results, run)
    lines += _table(ROW_HEAD, body)
    v = verdicts(results, run)
    if run["mode"] == "tiny":
        lines += ["", "(tiny mode: correctness only; the timings mean nothing)"]
    elif v:
        lines += ["", "Targets (chainrule):"] + _table(VERDICT_HEAD, v)
        c = compiled_verdicts(results)
        if c:
            lines += ["", "Targets (chainrule compiled):"] + _table(COMPILED_HEAD, c)
    return "\n".join(lines)


def _machine(results):
    from chainrule.cli import doctor
    info = doctor.collect(gemm=False)
    cpu = info["cpu"]
    versions, blas = {"python": platform.python_version()}, {}
    for res in results.values():
        for f, r in res.items():
            if r.get("version") and f not in versions:
                versions[f] = r["version"]
            for lib in r.get("blas") or []:
                if lib.get("user_api") == "blas":
                    key = (os.path.basename(lib.get("filepath", "")), lib.get("architecture"))
                    blas.setdefault(key, (lib, set()))[1].add(f)
    lines = [f"- Machine: {cpu['model']}, {cpu['logical_cores']} logical cores "
             f"({cpu['usable_cores']} usable), AVX2 {'yes' if cpu['avx2'] else 'no'}, "
             f"AVX-512 {'yes' if cpu['avx512'] else 'no'}; {info['platform']}",
             "- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items())]
    for (path, _), (lib, users) in blas.items():
        lines.append(f"- BLAS ({', '.join(sorted(users))}): {lib.get('internal_api')} "
                     f"{lib.get('version')}, kernel {lib.get('architecture')}, "
                     f"{lib.get('num_threads')} thread(s), {path}")
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items() if v)
    if env:
        lines.append(f"- Environment: {env}")
    return lines


def _command(argv):
    """The command line as worth repeating: without --json and its (temporary) path."""
    out, skip = [], False
    for a in argv:
        if skip or a.startswith("--json="):
            skip = False
            continue
        skip = a == "--json"
        if not skip:
            out.append(a)
    return " ".join(["python -m bench"] + out)


def markdown(results, run):
    lines = [START, "", f"Run {run['date']}: `{_command(run['argv'])}` "
             f"({run['mode']} mode, {run['threads']} BLAS thread(s) per process, "
             f"{run['seconds']:.0f} s in all).", ""]
    lines += _machine(results) + [""]
    lines += _table(ROW_HEAD, rows(results, run), md=True)
    v = verdicts(results, run)
    if v:
        lines += ["", "Targets for chainrule:", ""] + _table(VERDICT_HEAD, v, md=True)
    c = compiled_verdicts(results)
    if c:
        lines += ["", "Targets for chainrule compiled (docs/compile.md):", ""] + \
            _table(COMPILED_HEAD, c, md=True)
    return "\n".join(lines + ["", END])


def write_markdown(path, results, run):
    """Replace the section between the markers in ``path`` (create the file if needed)."""
    section = markdown(results, run)
    old = open(path).read() if os.path.exists(path) else "# Benchmarks\n\n" + START + "\n" + END + "\n"
    if START in old and END in old:
        new = old[:old.index(START)] + section + old[old.index(END) + len(END):]
    else:
        new = old.rstrip("\n") + "\n\n## Results\n\n" + section + "\n"
    with open(path, "w") as f:
        f.write(new)
