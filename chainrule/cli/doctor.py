"""``chainrule doctor``: is NumPy's BLAS fast on this machine?

chainrule's speed on real models is the speed of NumPy's matrix products, so a
slow BLAS kernel makes everything slow.  A common, silent case: the CPU has
AVX-512 but OpenBLAS (built with DYNAMIC_ARCH, as in NumPy's wheels) does not
recognise the CPU and falls back to its AVX2 ('Haswell') kernels.  Setting
``OPENBLAS_CORETYPE=SkylakeX`` before Python starts selects the AVX-512 ones.

threadpoolctl (``pip install chainrule[bench]``) is optional: without it the
report says less (no runtime kernel name or thread count) but still works.
"""
from __future__ import annotations

import json
import os
import platform
import signal
import subprocess
import sys
import time

import numpy as np

ORDER = 90

# OpenBLAS kernels that use AVX-512 (lower case, as threadpoolctl reports them)
AVX512_KERNELS = {"skylakex", "cooperlake", "sapphirerapids"}
THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE")


def register(sub):
    p = sub.add_parser("doctor", help="check NumPy's BLAS: kernel, threads, GEMM speed",
                       description="Report NumPy's BLAS library, the kernel it chose, its threads "
                                   "and its matrix-multiply speed, with advice when a faster "
                                   "kernel is available (e.g. AVX-512 on a CPU OpenBLAS "
                                   "does not recognise).")
    p.add_argument("--no-gemm", action="store_true", help="skip the GEMM speed measurement")
    p.add_argument("--size", type=int, default=1024, metavar="N",
                   help="matrix size for the GEMM measurement (default 1024)")
    p.add_argument("--compare", action="store_true",
                   help="also measure GEMM in a child process with the other OPENBLAS_CORETYPE "
                        "setting (SkylakeX when unset), to see what the faster kernel gives")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=run)


# ------------------------------------------------------------------ facts
def cpu_info():
    """CPU model, core counts and SIMD flags (from /proc/cpuinfo where it exists)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key == "model name" and model in ("", platform.machine(), platform.processor()):
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = set(value.split())
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count()
    return {"model": model or "unknown", "logical_cores": os.cpu_count(), "usable_cores": usable,
            "avx2": "avx2" in flags, "avx512": "avx512f" in flags,
            "avx512_flags": sorted(f for f in flags if f.startswith("avx512"))}


def blas_info():
    """The BLAS libraries loaded in this process, as threadpoolctl sees them (or a fallback)."""
    try:
        import threadpoolctl
    except ImportError:
        return {"source": "numpy build config (install threadpoolctl for the runtime kernel)",
                "threadpoolctl": None, "libraries": [_blas_from_config()]}
    libs = []
    for lib in threadpoolctl.threadpool_info():
        if lib.get("user_api") != "blas":
            continue
        libs.append({k: lib.get(k) for k in ("internal_api", "version", "architecture",
                                              "num_threads", "threading_layer", "prefix",
                                              "filepath")})
    return {"source": "threadpoolctl", "threadpoolctl": threadpoolctl.__version__,
            "libraries": libs}


def _blas_from_config():
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
    except Exception:   # very old NumPy, or a build without the dict mode
        return {"internal_api": "unknown", "version": None, "architecture": None,
                "num_threads": None}
    name = str(blas.get("name", "unknown"))
    return {"internal_api": "openblas" if "openblas" in name.lower() else name,
            "version": blas.get("version"), "architecture": None, "num_threads": None,
            "build": " ".join(str(blas.get("openblas configuration", "")).split())}


def gemm_gflops(n=1024, dtype="float64", seconds=0.4):
    """Best GFLOP/s of an n×n×n matrix product over about ``seconds`` (after one warm-up)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)
    b = rng.standard_normal((n, n)).astype(dtype)
    out = np.empty((n, n), dtype)
    np.matmul(a, b, out=out)
    best, start = float("inf"), time.perf_counter()
    while True:
        t = time.perf_counter()
        np.matmul(a, b, out=out)
        best = min(best, time.perf_counter() - t)
        if time.perf_counter() - start > seconds:
            break
    return 2.0 * n ** 3 / best / 1e9


def measure_gemm(n=1024):
    return {"size": n, "float32": gemm_gflops(n, "float32"), "float64": gemm_gflops(n, "float64")}


def advice(cpu, blas, env=None):
    """What to tell the user; pure function of the facts (tested without the hardware)."""
    env = os.environ if env is None else env
    tips = []
    for lib in blas.get("libraries", []):
        if lib.get("internal_api") != "openblas":
            continue
        arch = (lib.get("architecture") or "").lower()
        if cpu.get("avx512") and arch and arch not in AVX512_KERNELS:
            if env.get("OPENBLAS_CORETYPE"):
                tips.append(f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} is set and selects "
                            f"the '{lib['architecture']}' kernels, which do not use this "
                            "CPU's AVX-512; try OPENBLAS_CORETYPE=SkylakeX.")
            else:
                tips.append(f"This CPU has AVX-512, but OpenBLAS chose its "
                            f"'{lib['architecture']}' (AVX2) kernels. For faster matrix "
                            "products start Python with\n    export OPENBLAS_CORETYPE=SkylakeX\n"
                            "(it must be set before NumPy is imported; "
                            "`chainrule doctor --compare` measures both).")
        if not arch and blas.get("threadpoolctl") is None:
            tips.append("Install threadpoolctl (pip install 'chainrule[bench]') to see which "
                        "OpenBLAS kernel and how many threads are in use.")
    return tips


def collect(gemm=True, size=1024):
    """Everything ``doctor`` reports, as a dict (bench/ uses it for its machine section)."""
    cpu = cpu_info()
    blas = blas_info()
    report = {"python": platform.python_version(), "implementation": platform.python_implementation(),
              "platform": platform.platform(), "numpy": np.__version__, "cpu": cpu, "blas": blas,
              "env": {k: os.environ.get(k) for k in THREAD_VARS}, "gemm": None}
    if gemm:
        report["gemm"] = measure_gemm(size)
    report["advice"] = advice(cpu, blas)
    return report


# --------------------------------------------------------------- compare
def _other_coretype_env():
    env = dict(os.environ)
    if env.get("OPENBLAS_CORETYPE", "").lower() == "skylakex":
        env.pop("OPENBLAS_CORETYPE")
        label = "OPENBLAS_CORETYPE unset"
    else:
        env["OPENBLAS_CORETYPE"] = "SkylakeX"
        label = "OPENBLAS_CORETYPE=SkylakeX"
    return env, label


def compare(size=1024):
    """GEMM speed in a child process started with the other OPENBLAS_CORETYPE setting."""
    env, label = _other_coretype_env()
    code = ("import json; from chainrule.cli import doctor as d; "
            f"print(json.dumps({{'blas': d.blas_info(), 'gemm': d.measure_gemm({int(size)})}}))")
    try:
        proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                              text=True, timeout=120)
    except subprocess.TimeoutExpired:
        return {"setting": label, "error": "the child process took more than 120 s"}
    except (subprocess.SubprocessError, OSError) as e:
        return {"setting": label, "error": f"could not start the child process: {e}"}
    if proc.returncode != 0:
        return {"setting": label, "error": child_failure(proc.returncode, proc.stderr, label)}
    try:
        child = json.loads(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"setting": label, "error": "the child process printed no report "
                f"(stdout: {proc.stdout.strip()[-120:]!r})"}
    return {"setting": label, **child}


def child_failure(returncode, stderr, label):
    """Why the child died, in words: a signal (SIGILL means the CPU lacks an instruction
    the chosen kernels use), or its exit status and last line of stderr."""
    signum = -returncode if returncode < 0 else returncode - 128 if returncode > 128 else None
    try:
        name = signal.Signals(signum).name if signum else None
    except ValueError:
        name = None
    if name == "SIGILL":
        return (f"the child process died of an illegal instruction (SIGILL, status {returncode}):"
                f" this CPU cannot run the kernels {label} selects (they need AVX-512), so "
                "keep the current setting")
    if name:
        return f"the child process was killed by {name} (status {returncode})"
    last = (stderr or "").strip().splitlines()[-1:] or ["no error output"]
    return f"the child process exited with status {returncode}: {last[0][:200]}"


# ----------------------------------------------------------------- output
def _kernels(blas):
    parts = []
    for lib in blas["libraries"]:
        name = {"openblas": "OpenBLAS", "mkl": "MKL", "blis": "BLIS"}.get(
            lib.get("internal_api"), str(lib.get("internal_api")))
        bits = [f"{name} {lib.get('version') or ''}".strip()]
        if lib.get("architecture"):
            bits.append(f"kernel {lib['architecture']}")
        if lib.get("num_threads") is not None:
            bits.append(f"{lib['num_threads']} threads")
        if lib.get("threading_layer"):
            bits.append(lib["threading_layer"])
        parts.append(", ".join(bits))
    return parts or ["none found"]


def format_report(r):
    cpu = r["cpu"]
    simd = (f"AVX2 {'yes' if cpu['avx2'] else 'no'}, AVX-512 "
            + (f"yes ({', '.join(cpu['avx512_flags'][:4])}{', ...' if len(cpu['avx512_flags']) > 4 else ''})"
               if cpu["avx512"] else "no"))
    lines = ["chainrule doctor",
             f"  Python      {r['python']} ({r['implementation']}), {r['platform']}",
             f"  NumPy       {r['numpy']}",
             f"  CPU         {cpu['model']}: {cpu['logical_cores']} logical cores "
             f"({cpu['usable_cores']} usable by this process)",
             f"  SIMD        {simd}"]
    kernels = _kernels(r["blas"])
    lines.append(f"  BLAS        {kernels[0]}")
    lines += [f"              {k}" for k in kernels[1:]]
    if r["blas"]["threadpoolctl"] is None:
        lines.append(f"              (from {r['blas']['source']})")
    env = ", ".join(f"{k}={v}" for k, v in r["env"].items() if v) or "none set"
    lines.append(f"  Thread env  {env}")
    if r["gemm"]:
        g = r["gemm"]
        lines.append(f"  {'GEMM ' + str(g['size']) + '³':<12}float32 {g['float32']:.1f} GFLOP/s, "
                     f"float64 {g['float64']:.1f} GFLOP/s")
    if r.get("compare"):
        c = r["compare"]
        if "error" in c:
            lines.append(f"  Compare     {c['setting']}: {c['error']}")
        else:
            lines.append(f"  Compare     {c['setting']}: {_kernels(c['blas'])[0]}")
            g = c["gemm"]
            lines.append(f"              float32 {g['float32']:.1f} GFLOP/s, "
                         f"float64 {g['float64']:.1f} GFLOP/s")
    if r["advice"]:
        lines.append("")
        lines.append("Advice:")
        for tip in r["advice"]:
            lines.append("  * " + tip.replace("\n", "\n  "))
    else:
        lines.append("")
        lines.append("No problems found.")
    return "\n".join(lines)


def run(args):
    report = collect(gemm=not args.no_gemm, size=args.size)
    if args.compare:
        report["compare"] = compare(args.size)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0
