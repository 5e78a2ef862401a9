"""The benchmark suite: ``python -m bench`` (or ``python bench/run.py``).

For each workload: compute the float64 hand-written reference, start one
worker process per framework (each checks its outputs against the reference
before anything is timed), then time them in interleaved rounds, so that a
burst of load on a shared machine hits every framework rather than one.
Ratios are to the hand-written NumPy code timed in the same rounds.
"""
from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FRAMEWORKS = ("numpy", "chainrule", "chainrule-compiled", "chainrule-numba", "torch", "autograd",
              "mygrad", "jax")
# tracemalloc sees these frameworks' memory
NUMPY_BASED = ("numpy", "chainrule", "chainrule-compiled", "chainrule-numba", "autograd", "mygrad")
MEMORY_WORKLOADS = ("W1", "W6")
# per mode: (rounds, seconds per framework per workload, minimum samples, seconds per sample)
MODES = {"full": (5, 3.0, 10, 0.02), "quick": (2, 0.6, 4, 0.01), "tiny": (1, 0.0, 1, 0.0)}
TIMEOUT = 900.0


def parse(argv):
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true",
                   help="fewer rounds and seconds; W6 shrunk to 1024 wide, batch 256")
    p.add_argument("--tiny", action="store_true",
                   help="tiny sizes, one sample: only checks that everything runs (tests)")
    p.add_argument("--workloads", default=None, metavar="W1,W2,...",
                   help="comma-separated subset (default: all)")
    p.add_argument("--frameworks", default=None, metavar="F1,F2,...",
                   help=f"comma-separated subset of {','.join(FRAMEWORKS)} (numpy is always run)")
    p.add_argument("--threads", type=int, default=1,
                   help="BLAS/OpenMP/torch threads in every worker (default 1)")
    p.add_argument("--rounds", type=int, default=None, help="override the number of rounds")
    p.add_argument("--seconds", type=float, default=None,
                   help="override the timing seconds per framework and workload")
    p.add_argument("--no-memory", action="store_true", help="skip the tracemalloc measurement")
    p.add_argument("--markdown", nargs="?", const=os.path.join(ROOT, "docs", "benchmarks.md"),
                   default=None, metavar="PATH",
                   help="write the results into PATH (default docs/benchmarks.md)")
    p.add_argument("--json", default=None, metavar="PATH", help="also dump the raw results")
    p.add_argument("--baseline", default=None, metavar="REV",
                   help="also time chainrule as of git revision REV (rows 'chainrule@REV' and, "
                        "with chainrule-compiled, 'chainrule-compiled@REV'), "
                        "interleaved with today's, for before/after ratios from one run")
    p.add_argument("--anomaly", action="store_true",
                   help="also time chainrule with CHAINRULE_DETECT_ANOMALY=1 (a row "
                        "'chainrule+anomaly'), to see what anomaly mode costs")
    p.add_argument("--transforms", action="store_true",
                   help="instead: vmap-batched Jacobians, per-example gradients, checkpoint "
                        "memory and SciPy root finding against the loops they replace "
                        "(bench/transforms.py)")
    p.add_argument("--distributed", action="store_true",
                   help="instead: W1's data-parallel step on MPI processes (bench/distributed.py)")
    p.add_argument("--processes", default="1,2", metavar="N1,N2,...",
                   help="process counts for --distributed (default 1,2)")
    args = p.parse_args(argv)
    args.mode = "tiny" if args.tiny else "quick" if args.quick else "full"
    return args


# ----------------------------------------------------------------- workers
class Worker:
    """One framework's process for one workload; lines from its stdout arrive on a queue."""

    def __init__(self, framework, workload, mode, threads, ref_path, log_dir):
        env = dict(os.environ)
        path, cwd = ROOT, ROOT
        framework, _, rev = framework.partition("@")
        if rev:             # an older chainrule, unpacked by baseline(), shadows this checkout's:
            # run from its folder, since `python -m` puts the working folder first on sys.path
            cwd = os.path.join(log_dir, "baseline")
            path = cwd + os.pathsep + ROOT
        framework, _, variant = framework.partition("+")
        if variant == "anomaly":
            env["CHAINRULE_DETECT_ANOMALY"] = "1"
        rev = rev or variant
        env["PYTHONPATH"] = path + os.pathsep + env.get("PYTHONPATH", "")
        self.framework = framework
        self.log = open(os.path.join(log_dir, f"{workload}-{framework}{rev and '-' + rev}.log"),
                        "w+")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker", "--framework", framework, "--workload",
             workload, "--mode", mode, "--threads", str(threads), "--ref", ref_path],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, text=True, cwd=cwd,
            env=env)
        self.expect_from = cwd if cwd != ROOT else None   # (checked when it is ready)
        self.lines = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self):
        for line in self.proc.stdout:
            if line.startswith("BENCH "):
                self.lines.put(json.loads(line[6:]))
        self.lines.put(None)

    def receive(self):
        try:
            msg = self.lines.get(timeout=TIMEOUT)
        except queue.Empty:
            msg = None
        if msg is None:
            self.proc.kill()
            self.log.seek(0)
            tail = self.log.read()[-2000:]
            return {"event": "done", "status": "error",
                    "reason": f"worker exited ({self.proc.poll()}): {tail.strip()[-600:]}"}
        return msg

    def ask(self, **cmd):
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
        self.log.close()


def run_workload(name, frameworks, args, tmp):
    """Check, then time every framework on workload ``name``; {framework: result}."""
    import numpy as np

    from bench import workloads as W
    ref_path = os.path.join(tmp, f"{name}.npz")
    np.savez(ref_path, **W.reference(name, W.problem(name, args.mode)))
    workers = {f: Worker(f, name, args.mode, args.threads, ref_path, tmp) for f in frameworks}
    results, live = {}, []
    for f, w in workers.items():
        msg = w.receive()
        results[f] = {k: v for k, v in msg.items() if k != "event"}
        source = msg.get("chainrule_from")
        if msg["event"] == "ready" and w.expect_from and source and \
                not source.startswith(w.expect_from + os.sep):
            results[f].update(status="error", reason=f"imported chainrule from {source}, not "
                                                     f"the baseline in {w.expect_from}")
            w.close()
            continue
        if msg["event"] == "ready":
            results[f]["samples"] = []
            live.append(f)
        else:
            w.close()
    rounds, seconds, repeat, sample_time = MODES[args.mode]
    rounds = args.rounds or rounds
    seconds = seconds if args.seconds is None else args.seconds
    heavy = W.SPECS[name].get("heavy") and args.mode == "full"
    if heavy:
        rounds, seconds, repeat, sample_time = min(rounds, 3), 0.0, rounds, 0.0
    for r in range(rounds):
        order = live[r % len(live):] + live[:r % len(live)] if live else []
        for f in order:
            msg = workers[f].ask(cmd="time", seconds=seconds / rounds,
                                 repeat=max(1, -(-repeat // rounds)), sample_time=sample_time)
            if msg["event"] != "time":
                results[f].update(status="error", reason=msg.get("reason"))
                continue
            results[f]["samples"] += msg["samples"]
            results[f]["inner"] = msg["inner"]
    for f in live:
        w, res = workers[f], results[f]
        if res.get("status") != "error" and res["samples"]:
            s = sorted(res["samples"])
            res.update(status="ok", median=float(np.median(s)), min=s[0], n=len(s))
            if not args.no_memory and name in MEMORY_WORKLOADS and f in NUMPY_BASED:
                res["mem_peak"] = w.ask(cmd="memory").get("mem_peak")
            if f == "numpy" and name == "W6":
                res["gemm_gflops"] = w.ask(cmd="gemm").get("gemm_gflops")
        w.close()
    return results


def baseline(rev, tmp):
    """Unpack chainrule/ as of ``rev`` into tmp/baseline; returns the short revision name."""
    short = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", rev], check=True,
                           capture_output=True, text=True).stdout.strip()
    dest = os.path.join(tmp, "baseline")
    os.makedirs(dest)
    archive = subprocess.run(["git", "-C", ROOT, "archive", rev, "chainrule"], check=True,
                             capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return short


def main(argv=None):
    args = parse(argv)
    if args.distributed:
        from bench import distributed
        return distributed.main(args)
    if args.transforms:
        from bench import transforms
        return transforms.main(args)
    from bench import report
    from bench import workloads as W
    names = W.ORDER if not args.workloads else [w.strip() for w in args.workloads.split(",")]
    unknown = [w for w in names if w not in W.SPECS]
    frameworks = list(FRAMEWORKS) if not args.frameworks else \
        ["numpy"] + [f.strip() for f in args.frameworks.split(",") if f.strip() != "numpy"]
    unknown += [f for f in frameworks if f not in FRAMEWORKS]
    if unknown:
        print(f"unknown workload/framework: {', '.join(unknown)}; workloads: {', '.join(W.ORDER)}; "
              f"frameworks: {', '.join(FRAMEWORKS)}", file=sys.stderr)
        return 2
    started = time.time()
    results = {}
    with tempfile.TemporaryDirectory(prefix="chainrule-bench-") as tmp:
        after = frameworks.index("chainrule") + 1 if "chainrule" in frameworks else 1
        if args.anomaly:
            frameworks.insert(after, "chainrule+anomaly")
        if args.baseline:
            short = baseline(args.baseline, tmp)
            if "chainrule-compiled" in frameworks and \
                    os.path.isdir(os.path.join(tmp, "baseline", "chainrule", "compile")):
                # the compiler's own before/after row (a revision before it has none)
                frameworks.insert(frameworks.index("chainrule-compiled") + 1,
                                  f"chainrule-compiled@{short}")
            if "chainrule" in frameworks or "chainrule-compiled" not in frameworks:
                frameworks.insert(after, f"chainrule@{short}")
        for name in names:
            print(f"[{time.time() - started:6.1f}s] {name}: {W.SPECS[name]['title']} "
                  f"({W.SPECS[name]['dtype']}, {args.mode})", file=sys.stderr, flush=True)
            results[name] = run_workload(name, frameworks, args, tmp)
            for f, r in results[name].items():
                if r.get("status") in ("mismatch", "error"):
                    print(f"  !! {f}: {r['status'].upper()}: {r.get('reason')}", file=sys.stderr)
    run = {"mode": args.mode, "threads": args.threads, "seconds": time.time() - started,
           "argv": sys.argv[1:] if argv is None else list(argv), "date": time.strftime("%Y-%m-%d %H:%M")}
    text = report.text(results, run)
    print(text)
    failed = report.failures(results)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"run": run, "results": results}, f, indent=1, default=str)
    if failed:
        print("\nFAILED: " + "; ".join(failed), file=sys.stderr)
        print("(results were NOT written to the markdown file)" if args.markdown else "",
              file=sys.stderr)
        return 1
    if args.markdown:
        report.write_markdown(args.markdown, results, run)
        print(f"\nwrote {args.markdown}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    if ROOT not in sys.path:
        sys.path.insert(0, ROOT)
    sys.exit(main())
