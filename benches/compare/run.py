#!/usr/bin/env python3
"""awsim side by side with the simulators people would otherwise use (issue 15).

Runs each model in awsim and in its peers, checks that they agree (a comparison of wrong models
is worthless), and prints and writes a table of wall time, simulated customers per second, peak
memory and the speed ratio awsim / peer. Called by run.sh, which makes the virtual environment
with the pinned peers; see benches/README.md, "Side by side", for what each model is and the
last measured table.

Exit status: 0 when every check passed, 1 when a model disagreed, 2 when something failed to
run.
"""

import argparse
import csv
import datetime
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
MODELS = os.path.join(HERE, "models")
PYTHON = sys.executable
GNU_TIME = "/usr/bin/time"

# Agreement: |a - b| <= t * sqrt(se_a^2 + se_b^2), t the two-sided 99.9 % quantile of Student's
# t with the Welch-Satterthwaite degrees of freedom (replications: R - 1; 20 batch means: 19;
# theory: infinite). With some twenty checks a full run fails by chance about once in fifty.
CONFIDENCE = 0.999

SIZES = {
    "full": {
        "mm8_customers": 1_000_000,
        "mm8_big_customers": 20_000_000,
        "simfaas_seconds": 1e6,
        "alb_seconds": 21_600,
        "pool_functions": 1000,
        "pool_seconds": 1800,
        "replications": 10,
    },
    "quick": {
        "mm8_customers": 60_000,
        "mm8_big_customers": None,
        "simfaas_seconds": 1e4,
        "alb_seconds": 900,
        "pool_functions": 50,
        "pool_seconds": 300,
        "replications": 8,
    },
}

MM8_RATE, MM8_SERVERS, MM8_SERVICE_RATE = 72.0, 8, 10.0


class Failure(Exception):
    """Something did not run: the comparison stops (exit 2)."""


def say(text):
    print(text, flush=True)


def measure(cmd, cwd=ROOT):
    """Runs `cmd`, returns (wall seconds, peak resident memory in MB, stdout). Peak memory comes
    from GNU time (`/usr/bin/time -f %M`): a child forked from this Python process would report
    this process's own resident size (Linux keeps a process's peak across exec), while time's
    child starts from time's own few hundred kilobytes."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, \
            tempfile.NamedTemporaryFile(mode="r") as peak:
        start = time.perf_counter()
        proc = subprocess.run([GNU_TIME, "-f", "%M", "-o", peak.name, *map(str, cmd)], cwd=cwd,
                              stdout=out, stderr=err)
        wall = time.perf_counter() - start
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        lines = peak.read().split()
    if proc.returncode != 0:
        raise Failure(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{stderr[-3000:]}")
    return wall, int(lines[-1]) / 1024.0, stdout


def last_json(stdout):
    return json.loads(stdout.strip().splitlines()[-1])


def cargo_executable(args, name):
    """Builds with cargo and returns the path of executable `name` from its JSON messages."""
    proc = subprocess.run(
        ["cargo", *args, "--message-format=json-render-diagnostics"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    if proc.returncode != 0:
        raise Failure(f"cargo {' '.join(args)} failed")
    for line in proc.stdout.splitlines():
        msg = json.loads(line)
        if msg.get("reason") == "compiler-artifact" and msg.get("executable"):
            if msg["target"]["name"] == name:
                return msg["executable"]
    raise Failure(f"cargo {' '.join(args)} built no executable {name}")


def build():
    say("building awsim (release), the hand-written loop and nexosim's M/M/8 ...")
    tools = {
        "awsim": cargo_executable(["build", "--release", "--bin", "awsim"], "awsim"),
        "loop": cargo_executable(["bench", "--bench", "mm8_loop", "--no-run"], "mm8_loop"),
    }
    manifest = os.path.join(HERE, "nexosim_mm8", "Cargo.toml")
    try:
        tools["nexosim"] = cargo_executable(
            ["build", "--release", "--locked", "--manifest-path", manifest], "nexosim_mm8"
        )
    except Failure as e:
        say(f"nexosim did not build, left out: {e}")
    return tools


def erlang_c_response(c, lam, mu):
    a = lam / mu
    rho = a / c
    below = sum(a**k / math.factorial(k) for k in range(c))
    top = a**c / math.factorial(c) / (1 - rho)
    return top / (below + top) / (c * mu - lam) + 1 / mu


def mean_se(values):
    """Mean and standard error of independent replications."""
    if len(values) < 2:
        return {"mean": values[0], "se": float("nan"), "df": 0}
    return {
        "mean": statistics.fmean(values),
        "se": statistics.stdev(values) / math.sqrt(len(values)),
        "df": len(values) - 1,
    }


def critical(a, b):
    """The t quantile for the difference of estimates a and b (Welch-Satterthwaite)."""
    from scipy.stats import t

    va, vb = a["se"] ** 2, b["se"] ** 2
    parts = [v * v / e.get("df", math.inf) for v, e in ((va, a), (vb, b)) if v > 0]
    df = (va + vb) ** 2 / sum(parts) if parts and sum(parts) > 0 else math.inf
    return float(t.ppf(0.5 + CONFIDENCE / 2, df)), df


class Comparison:
    def __init__(self, out_dir, sizes, tools):
        self.out_dir = out_dir
        self.sizes = sizes
        self.tools = tools
        self.rows = []  # one per timed run
        self.checks = []  # one per agreement test
        self.notes = []
        self.raw = {}
        self.work = os.path.join(out_dir, "work")
        os.makedirs(self.work, exist_ok=True)

    # ---- running ----------------------------------------------------------------------------

    def row(self, model, simulator, customers, wall, peak_mb, result, inner=None, reference=False):
        r = {
            "model": model,
            "simulator": simulator,
            "customers": int(customers),
            "wall_s": wall,
            "inner_s": inner,
            "customers_per_s": customers / wall,
            "peak_mb": peak_mb,
            "result": result,
            "reference": reference,
        }
        self.rows.append(r)
        say(
            f"  {simulator:<34} {int(customers):>11,} customers {wall:8.2f} s "
            f"{customers / wall:>12,.0f}/s {peak_mb:8.1f} MB  {result}"
        )
        return r

    def awsim_run(self, scenario, seed, duration_s, interval, name):
        out = os.path.join(self.work, name)
        cmd = [self.tools["awsim"], "run", scenario, "--seed", str(seed), "--quiet", "--out", out]
        if duration_s is not None:
            cmd += ["--duration", f"{duration_s}s"]
        if interval is not None:
            cmd += ["--interval", interval]
        wall, peak, _ = measure(cmd)
        with open(os.path.join(out, "summary.json")) as f:
            summary = json.load(f)
        shutil.rmtree(out)
        return wall, peak, summary

    def awsim_library(self, scenario, seed, duration_s):
        cmd = [self.tools["loop"], "--awsim", scenario, "--seed", str(seed)]
        if duration_s is not None:
            cmd += ["--duration-s", str(duration_s)]
        wall, peak, stdout = measure(cmd)
        got = last_json(stdout)
        return wall, peak, got["seconds"], got["summary"]

    def peer(self, script, *args):
        """Runs a peer model; its wall time leaves out the figures this comparison computes
        after the simulation (batch means), which are not the peer's own cost."""
        wall, peak, stdout = measure([PYTHON, os.path.join(MODELS, script), *map(str, args)])
        got = last_json(stdout)
        return wall - got["post_seconds"], peak, got

    def check(self, model, metric, a_name, a, b_name, b, exact=False):
        """awsim's estimate `a` against a peer's (or theory's) `b`, each {"mean", "se"}."""
        diff = a["mean"] - b["mean"]
        if exact:
            ok = abs(diff) <= 1e-9 * max(abs(a["mean"]), abs(b["mean"]), 1e-300)
            z = 0.0 if ok else float("inf")
            rule = "exact"
        else:
            se = math.sqrt(a["se"] ** 2 + b["se"] ** 2)
            z = abs(diff) / se if se > 0 else (0.0 if diff == 0 else float("inf"))
            limit, df = critical(a, b)
            ok = z <= limit
            rule = f"z ≤ {limit:.2f} (df {df:.0f})"
        self.checks.append(
            {
                "model": model,
                "metric": metric,
                "a": a_name,
                "a_mean": a["mean"],
                "a_se": a["se"],
                "b": b_name,
                "b_mean": b["mean"],
                "b_se": b["se"],
                "z": z,
                "rule": rule,
                "ok": ok,
            }
        )
        mark = "ok  " if ok else "FAIL"
        say(
            f"  check {mark} {metric}: {a_name} {fmt(a)} vs {b_name} {fmt(b)} "
            f"(z = {z:.2f}, {rule})"
        )

    # ---- models -----------------------------------------------------------------------------

    def mm8(self):
        n = self.sizes["mm8_customers"]
        reps = self.sizes["replications"]
        model = f"M/M/8 ρ=0.9, {n:,} customers"
        say(f"\n{model}")
        theory = {"mean": erlang_c_response(MM8_SERVERS, MM8_RATE, MM8_SERVICE_RATE), "se": 0.0,
                  "df": math.inf}
        scenario = os.path.join(ROOT, "scenarios/examples/mmc.toml")
        duration = round(n / MM8_RATE)
        interval = f"{max(1, duration // 10)}s"
        means = []
        for seed in range(1, reps + 1):
            wall, peak, s = self.awsim_run(scenario, seed, duration, interval, f"mm8-{seed}")
            means.append(s["workloads"]["arrivals"]["latency_ms"]["mean"] / 1000)
            if seed == 1:
                first = (wall, peak, s)
        awsim = mean_se(means)
        wall, peak, s = first
        self.row(model, f"awsim run (interval {interval})", s["conservation"]["created_total"],
                 wall, peak, fmt(awsim, "s", reps=reps), reference=True)
        wall, peak, inner, s = self.awsim_library(scenario, 1, duration)
        self.row(model, "awsim, library (no outputs)", s["conservation"]["created_total"], wall,
                 peak, "same run as seed 1", inner=inner)
        self.check(model, "mean response (s)", "awsim", awsim, "Erlang C", theory)

        peers = [("hand-written loop", [self.tools["loop"], "--customers", n])]
        if "nexosim" in self.tools:
            peers.append(("nexosim 1.0.0", [self.tools["nexosim"], "--customers", n]))
        for name, cmd in peers:
            wall, peak, stdout = measure(list(map(str, cmd)))
            got = last_json(stdout)
            est = {"mean": got["mean_response_s"], "se": got["standard_error_s"], "df": 19}
            self.row(model, name, got["customers"], wall, peak, fmt(est, "s"),
                     inner=got["seconds"])
            self.check(model, "mean response (s)", "awsim", awsim, name, est)
            self.check(model, "mean response (s)", name, est, "Erlang C", theory)
        for name, script in [("SimPy 4.1.2", "mm8_simpy.py"), ("Ciw 3.2.7", "mm8_ciw.py")]:
            wall, peak, got = self.peer(script, "--customers", n)
            est = got["metrics"]["mean_response_s"]
            self.row(model, name, got["customers"], wall, peak, fmt(est, "s"),
                     inner=got["sim_seconds"])
            self.check(model, "mean response (s)", "awsim", awsim, name, est)
            self.check(model, "mean response (s)", name, est, "Erlang C", theory)

    def mm8_big(self):
        n = self.sizes["mm8_big_customers"]
        if not n:
            return
        model = f"M/M/8 ρ=0.9, {n:,} customers"
        say(f"\n{model} (the issue's run: awsim against the Rust simulators)")
        theory = {"mean": erlang_c_response(MM8_SERVERS, MM8_RATE, MM8_SERVICE_RATE), "se": 0.0,
                  "df": math.inf}
        scenario = os.path.join(ROOT, "scenarios/examples/mmc.toml")
        duration = round(n / MM8_RATE)
        # One run each: the standard error of a run this long is estimated from the 20 batch
        # means of the hand-written loop's run (the same model and length).
        wall, peak, stdout = measure([self.tools["loop"], "--customers", str(n)])
        got = last_json(stdout)
        loop = {"mean": got["mean_response_s"], "se": got["standard_error_s"], "df": 19}
        for interval, ref in [("1s", True), ("1h", False)]:
            wall_a, peak_a, s = self.awsim_run(scenario, 1, duration, interval, f"big-{interval}")
            est = {"mean": s["workloads"]["arrivals"]["latency_ms"]["mean"] / 1000,
                   "se": loop["se"], "df": 19}
            self.row(model, f"awsim run (interval {interval})", s["conservation"]["created_total"],
                     wall_a, peak_a, f"{est['mean']:.5g} s (s.e. as the loop's)", reference=ref)
            self.check(model, f"mean response (s), interval {interval}", "awsim", est,
                       "Erlang C", theory)
        wall_l, peak_l, inner, s = self.awsim_library(scenario, 1, duration)
        self.row(model, "awsim, library (no outputs)", s["conservation"]["created_total"], wall_l,
                 peak_l, "same run as above", inner=inner)
        self.row(model, "hand-written loop", got["customers"], wall, peak, fmt(loop, "s"),
                 inner=got["seconds"])
        self.check(model, "mean response (s)", "hand-written loop", loop, "Erlang C", theory)
        if "nexosim" in self.tools:
            wall, peak, stdout = measure([self.tools["nexosim"], "--customers", str(n)])
            got = last_json(stdout)
            est = {"mean": got["mean_response_s"], "se": got["standard_error_s"], "df": 19}
            self.row(model, "nexosim 1.0.0", got["customers"], wall, peak, fmt(est, "s"),
                     inner=got["seconds"])
            self.check(model, "mean response (s)", "nexosim 1.0.0", est, "Erlang C", theory)

    def simfaas(self):
        horizon = self.sizes["simfaas_seconds"]
        reps = self.sizes["replications"]
        model = f"SimFaaS README example, {horizon:g} s"
        say(f"\n{model}")
        scenario = os.path.join(HERE, "scenarios/simfaas_readme.toml")
        interval = f"{int(horizon // 10)}s"
        figures = {"cold_start_fraction": [], "mean_response_s": [], "instances_mean": []}
        for seed in range(1, reps + 1):
            wall, peak, s = self.awsim_run(scenario, seed, int(horizon), interval, f"sf-{seed}")
            fn = s["components"]["fn"]
            figures["cold_start_fraction"].append(fn["cold_start_fraction"])
            figures["mean_response_s"].append(fn["latency_ms"]["mean"] / 1000)
            figures["instances_mean"].append(fn["environments_mean"])
            if seed == 1:
                first = (wall, peak, s)
        awsim = {k: mean_se(v) for k, v in figures.items()}
        wall, peak, s = first
        self.row(model, f"awsim run (interval {interval})", s["conservation"]["created_total"],
                 wall, peak, fmt(awsim["mean_response_s"], "s", reps=reps), reference=True)
        wall, peak, inner, s = self.awsim_library(scenario, 1, int(horizon))
        self.row(model, "awsim, library (no outputs)", s["conservation"]["created_total"], wall,
                 peak, "same run as seed 1", inner=inner)
        wall, peak, got = self.peer("simfaas_readme.py", "--max-time", horizon)
        est = got["metrics"]
        self.row(model, "SimFaaS 0.2.2", got["customers"], wall, peak,
                 fmt(est["mean_response_s"], "s"), inner=got["sim_seconds"])
        for metric in ["mean_response_s", "cold_start_fraction", "instances_mean"]:
            self.check(model, metric, "awsim", awsim[metric], "SimFaaS", est[metric])

    def alb(self):
        seconds = self.sizes["alb_seconds"]
        reps = self.sizes["replications"]
        model = f"ALB, 4 targets (1 slow), RR and LOR, {seconds:g} s"
        say(f"\n{model}")
        scenario = os.path.join(ROOT, "scenarios/examples/rr_vs_lor_slow_instance.toml")
        interval = f"{int(seconds // 10)}s"
        figures = {"rr_mean_response_s": [], "lor_mean_response_s": []}
        for seed in range(1, reps + 1):
            wall, peak, s = self.awsim_run(scenario, seed, int(seconds), interval, f"alb-{seed}")
            w = s["workloads"]
            figures["rr_mean_response_s"].append(w["users-rr"]["latency_ms"]["mean"] / 1000)
            figures["lor_mean_response_s"].append(w["users-lor"]["latency_ms"]["mean"] / 1000)
            if seed == 1:
                first = (wall, peak, s)
        awsim = {k: mean_se(v) for k, v in figures.items()}
        wall, peak, s = first
        result = (f"RR {fmt(awsim['rr_mean_response_s'], 's', reps=reps)}, "
                  f"LOR {fmt(awsim['lor_mean_response_s'], 's', reps=reps)}")
        self.row(model, f"awsim run (interval {interval})", s["conservation"]["created_total"],
                 wall, peak, result, reference=True)
        wall, peak, inner, s = self.awsim_library(scenario, 1, int(seconds))
        self.row(model, "awsim, library (no outputs)", s["conservation"]["created_total"], wall,
                 peak, "same run as seed 1", inner=inner)
        wall, peak, got = self.peer("alb_simpy.py", "--seconds", seconds)
        est = got["metrics"]
        result = (f"RR {fmt(est['rr_mean_response_s'], 's')}, "
                  f"LOR {fmt(est['lor_mean_response_s'], 's')}")
        self.row(model, "SimPy 4.1.2", got["customers"], wall, peak, result,
                 inner=got["sim_seconds"])
        for metric in figures:
            self.check(model, metric, "awsim", awsim[metric], "SimPy", est[metric])

    def pool(self):
        functions = self.sizes["pool_functions"]
        seconds = self.sizes["pool_seconds"]
        model = f"Lambda pool, {functions} functions, Azure 2021-style trace, {seconds:g} s"
        say(f"\n{model}")
        work = os.path.join(self.work, "pool")
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(
            [PYTHON, os.path.join(MODELS, "make_pool_trace.py"), "--out", work,
             "--functions", str(functions), "--seconds", str(seconds)],
            check=True, stdout=subprocess.DEVNULL,
        )
        scenario = os.path.join(work, "pool.toml")
        interval = f"{(seconds + 400) // 10}s"
        wall, peak, s = self.awsim_run(scenario, 1, None, interval, "pool-run")
        names = [f"{i:04d}" for i in range(functions)]
        comps, loads = s["components"], s["workloads"]
        throttles = sum(comps[f"fn{n}"]["throttles"] for n in names)
        if throttles:
            raise Failure(f"the pool scenario throttled {throttles} invocations")
        colds = [comps[f"fn{n}"]["cold_starts"] for n in names]
        done = sum(loads[f"w{n}"]["latency_ms"]["count"] for n in names)
        total_ms = sum(
            loads[f"w{n}"]["latency_ms"]["mean"] * loads[f"w{n}"]["latency_ms"]["count"]
            for n in names
            if loads[f"w{n}"]["latency_ms"]["count"]
        )
        awsim = {
            "cold_starts": {"mean": sum(colds), "se": 0.0},
            "mean_response_s": {"mean": total_ms / done / 1000, "se": 0.0},
        }
        self.row(model, f"awsim run (interval {interval})", s["conservation"]["created_total"],
                 wall, peak, f"{sum(colds):,} cold starts, {fmt(awsim['mean_response_s'], 's')}",
                 reference=True)
        wall, peak, inner, s = self.awsim_library(scenario, 1, None)
        self.row(model, "awsim, library (no outputs)", s["conservation"]["created_total"], wall,
                 peak, "same run", inner=inner)
        wall, peak, got = self.peer("lambda_pool_simpy.py", "--work", work)
        est = got["metrics"]
        self.row(model, "SimPy 4.1.2", got["customers"], wall, peak,
                 f"{est['cold_starts']['mean']:,} cold starts, "
                 f"{fmt(est['mean_response_s'], 's')}", inner=got["sim_seconds"])
        for metric in ["cold_starts", "mean_response_s"]:
            self.check(model, metric, "awsim", awsim[metric], "SimPy", est[metric], exact=True)
        differ = sum(a != b for a, b in zip(colds, got["cold_starts_per_function"]))
        self.check(model, "functions whose cold starts differ", "awsim", {"mean": differ, "se": 0},
                   "SimPy", {"mean": 0, "se": 0}, exact=True)

    # ---- output -----------------------------------------------------------------------------

    def write(self, command):
        refs = {}
        for r in self.rows:
            if r["reference"]:
                refs[r["model"]] = r["customers_per_s"]
        for r in self.rows:
            ref = refs.get(r["model"])
            r["awsim_ratio"] = ref / r["customers_per_s"] if ref else None
        now = datetime.datetime.now().strftime("%Y-%m-%d %H:%M")
        load = os.getloadavg()
        head = [
            f"Measured {now} on {platform.node()} ({os.cpu_count()} cores, "
            f"{platform.processor() or platform.machine()}), load average at the end "
            f"{load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.",
            f"Command: `{command}`",
            "",
            "| model | simulator | customers | wall s | inner s | customers/s | peak MB "
            "| result (mean ± s.e.) | awsim ÷ this |",
            "|---|---|---:|---:|---:|---:|---:|---|---:|",
        ]
        lines = list(head)
        for r in self.rows:
            ratio = "" if r["awsim_ratio"] is None else f"{r['awsim_ratio']:.2f}"
            if r["reference"]:
                ratio = "1 (reference)"
            inner = "" if r["inner_s"] is None else f"{r['inner_s']:.2f}"
            lines.append(
                f"| {r['model']} | {r['simulator']} | {r['customers']:,} | {r['wall_s']:.2f} "
                f"| {inner} | {r['customers_per_s']:,.0f} | {r['peak_mb']:.1f} | {r['result']} "
                f"| {ratio} |"
            )
        lines += [
            "",
            "| model | metric | awsim (or the first) | peer | z | rule | agree |",
            "|---|---|---|---|---:|---|---|",
        ]
        for c in self.checks:
            a = fmt({"mean": c["a_mean"], "se": c["a_se"]})
            b = fmt({"mean": c["b_mean"], "se": c["b_se"]})
            lines.append(
                f"| {c['model']} | {c['metric']} | {c['a']} {a} | {c['b']} {b} | {c['z']:.2f} "
                f"| {c['rule']} | {'yes' if c['ok'] else '**NO**'} |"
            )
        text = "\n".join(lines) + "\n"
        with open(os.path.join(self.out_dir, "compare.md"), "w") as f:
            f.write(text)
        fields = ["model", "simulator", "customers", "wall_s", "inner_s", "customers_per_s",
                  "peak_mb", "result", "reference", "awsim_ratio"]
        with open(os.path.join(self.out_dir, "compare.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=fields)
            w.writeheader()
            for r in self.rows:
                w.writerow({k: r[k] for k in fields})
        with open(os.path.join(self.out_dir, "checks.csv"), "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(self.checks[0]))
            w.writeheader()
            w.writerows(self.checks)
        say("\n" + text)
        say(f"wrote {self.out_dir}/compare.md, compare.csv and checks.csv")


def fmt(est, unit="", reps=None):
    m, se = est["mean"], est.get("se", float("nan"))
    if isinstance(m, int) or (float(m).is_integer() and abs(m) >= 1 and not se):
        body = f"{m:,.0f}"
    elif se and not math.isnan(se):
        body = f"{m:.5g} ± {se:.2g}"
    else:
        body = f"{m:.6g}"
    if unit:
        body += f" {unit}"
    if reps:
        body += f" ({reps} reps)"
    return body


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes: a smoke check in well under a minute (once built)")
    parser.add_argument("--out", default=os.path.join(HERE, "out"),
                        help="folder for compare.md, compare.csv, checks.csv (default: out/)")
    parser.add_argument("--only", default="",
                        help="comma-separated subset of: mm8, mm8_big, simfaas, alb, pool")
    args = parser.parse_args()
    sizes = SIZES["quick" if args.quick else "full"]
    out_dir = os.path.abspath(args.out)
    os.makedirs(out_dir, exist_ok=True)
    command = "sh benches/compare/run.sh" + (" --quick" if args.quick else "")
    if args.only:
        command += f" --only {args.only}"
    if not os.access(GNU_TIME, os.X_OK):
        say(f"{GNU_TIME} (GNU time) is needed to measure peak memory: apt-get install time")
        return 2
    try:
        tools = build()
        cmp = Comparison(out_dir, sizes, tools)
        chosen = [m for m in args.only.split(",") if m] or [
            "mm8", "mm8_big", "simfaas", "alb", "pool"]
        for name in chosen:
            if not hasattr(cmp, name):
                raise Failure(f"--only: no model {name}")
            getattr(cmp, name)()
        shutil.rmtree(cmp.work, ignore_errors=True)
        cmp.write(command)
    except Failure as e:
        say(f"\nFAILED TO RUN: {e}")
        return 2
    bad = [c for c in cmp.checks if not c["ok"]]
    if bad:
        say(f"\n{len(bad)} CHECK(S) FAILED: the models disagree; the speed figures above compare "
            "different things until this is understood:")
        for c in bad:
            say(f"  {c['model']}: {c['metric']}: {c['a']} {c['a_mean']:.6g} vs {c['b']} "
                f"{c['b_mean']:.6g} (z = {c['z']:.2f})")
        return 1
    say(f"\nall {len(cmp.checks)} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
