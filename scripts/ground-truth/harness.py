#!/usr/bin/env python3
"""The ground-truth harness: runs llama.cpp on random-weight GGUF files of real architectures and
keeps what it printed, trimmed to the lines `headroom import` reads.

    harness.py prepare  [--models ...] [--quants ...]   write the GGUF files and quantize them
    harness.py memory   [--models ...] [--grid full|smoke]   buffer sizes over the settings grid
    harness.py machine                                 this machine's bandwidth and ISA -> machine.json
    harness.py bench    [--models ...] [--depths ...] [--threads ...] [--reps N] [--tag T]
                                                       llama-bench (measures the machine first)
    harness.py batched  [--models ...] [--quant Q]     llama-batched-bench, imported
    harness.py server   [--model M] [--quant Q] [--np N] [--clients 1,2,4,8] [--requests N]
                        [--total-requests N] [--replace]
    harness.py import                                  raw/ -> records.jsonl (headroom import)
    harness.py check RECORDS                           validate; fail past the memory tolerance
    harness.py cell MODEL QUANT [--ctx N] [--ub N] [--ctk T] [--ctv T] [--fa on|off] [--np N]
                                                       one memory cell, imported and validated

Paths: the llama.cpp build comes from build_llama_cpp.sh (~/.cache/headroom/llama.cpp-<version>),
GGUF files live in ~/.cache/headroom/gt-models, raw outputs and records in --out (by default
tests/fixtures/ground-truth/llama.cpp-cpu). Every raw file starts with a `# harness:` line giving
the command, the thread count and the load average when it ran. Python standard library only;
the GGUF writer runs in the harness's virtual environment (venv.sh).
"""

import argparse
import fcntl
import csv
import http.client
import json
import os
import re
import tempfile
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
CACHE = Path(os.environ.get("HEADROOM_CACHE", Path.home() / ".cache" / "headroom"))
MODELS_DIR = CACHE / "gt-models"
DEFAULT_OUT = REPO / "tests" / "fixtures" / "ground-truth" / "llama.cpp-cpu"
SERVER_OUT = REPO / "tests" / "fixtures" / "ground-truth" / "llama-server-cpu"
BATCHED_OUT = REPO / "tests" / "fixtures" / "ground-truth" / "llama-batched-bench-cpu"
# The CPU profile the records name: these VMs are Sapphire Rapids Xeons (AMX, AVX512-FP16), a part
# whose platform is 8-channel DDR5-4800 (data/hardware/ddr5-4800-8ch.json). A VM gets a share of it.
HARDWARE = os.environ.get("HEADROOM_GT_HARDWARE", "ddr5-4800-8ch")

# Six architectures and a hybrid: dense GQA with tied (qwen3, llama 3.2) and untied (tinyllama)
# embeddings, attention biases (qwen2), sliding windows (gemma3), an MoE (granitemoe) and a
# Mamba-2 hybrid (granitehybrid).
MODELS = [
    "qwen3-0.6b",
    "llama-3.2-1b",
    "qwen2.5-0.5b",
    "tinyllama-1.1b",
    "gemma-3-1b",
    "granite-3.1-1b-a400m",
    "granite-4.0-h-350m",
]
QUANTS = ["F16", "Q8_0", "Q4_K_M", "Q4_0"]
SMOKE_MODEL = "granite-4.0-h-350m"

# What the importers read; everything else is dropped from the raw logs.
KEEP = re.compile(
    r"buffer size|memory breakdown|breakdown_print|common_params_fit_impl|common_fit_params|"
    r"general\.name|file type|file size|llama_context: n_|llama_context: flash_attn|"
    r"Flash Attention|llama_kv_cache: size|failed to|out of memory|^# harness:|"
    r"llama_model_loader: loaded meta"
)


def log(msg):
    sys.stderr.write(f"harness: {msg}\n")
    sys.stderr.flush()


def bin_dir():
    out = subprocess.run([str(HERE / "build_llama_cpp.sh")], check=True,
                         stdout=subprocess.PIPE, text=True).stdout.strip().splitlines()
    return Path(out[-1])


def tool(name):
    b = bin_dir()
    if name == "llama-completion" and not (b / name).exists():
        name = "llama-cli"
    return str(b / name)


def loadavg():
    try:
        return Path("/proc/loadavg").read_text().split()[0]
    except OSError:
        return "unknown"


def mem_total_bytes():
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def build_name():
    v = os.environ.get("LLAMA_CPP_PYTHON_VERSION", "0.3.36")
    return f"llama-cpp-python-{v}-vendor"


def header(cmd, threads, rc=None, la=None, extra=""):
    """The first line of every raw file: build, exit status, threads, the load average when the
    command started, `extra` (a llama-bench file's machine numbers) and the command."""
    status = "" if rc is None else f"exit={rc} "
    extra = f"{extra} " if extra else ""
    return (f"# harness: build={build_name()} {status}threads={threads} loadavg={la or loadavg()} "
            f"nproc={os.cpu_count()} {extra}cmd={' '.join(Path(c).name if i == 0 else c for i, c in enumerate(cmd))}\n")


def gguf(model, quant):
    return MODELS_DIR / f"{model}-{quant}.gguf"


def run_trimmed(cmd, out_path, threads, timeout, keep=KEEP):
    """Runs cmd, writes the lines `keep` matches to out_path (with the harness header)."""
    t0 = time.time()
    la = loadavg()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       errors="replace", timeout=timeout)
    lines = [l for l in p.stdout.splitlines() if keep is None or keep.search(l)]
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with open(out_path, "w") as f:
        f.write(header(cmd, threads, p.returncode, la))
        for l in lines:
            f.write(l + "\n")
    if p.returncode != 0:
        log(f"{out_path.name}: exit {p.returncode}: {p.stdout.strip().splitlines()[-1:]}")
    return p.returncode, time.time() - t0


# ---------------------------------------------------------------------------------------------
# prepare


def prepare(models, quants):
    MODELS_DIR.mkdir(parents=True, exist_ok=True)
    py = CACHE / "venv" / "bin" / "python"
    if not py.exists():
        subprocess.run(["bash", "-c", f". {HERE / 'venv.sh'}"], check=True)
    for m in models:
        f16 = gguf(m, "F16")
        if not f16.exists():
            log(f"writing {f16.name}")
            subprocess.run([str(py), str(HERE / "write_gguf.py"),
                            str(REPO / "data" / "models" / f"{m}.json"), str(f16)], check=True,
                           stdout=subprocess.DEVNULL)
        for q in quants:
            if q == "F16" or gguf(m, q).exists():
                continue
            log(f"quantizing {m} to {q}")
            subprocess.run([tool("llama-quantize"), str(f16), str(gguf(m, q)), q, "2"],
                           check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# ---------------------------------------------------------------------------------------------
# memory


def memory_cells(grid):
    """(quant, settings) pairs: the full grid varies one setting at a time around ctx 4096."""
    if grid == "smoke":
        return [("Q8_0", dict(ctx=4096, fa="on")), ("Q4_0", dict(ctx=8192, fa="off")),
                ("Q4_0", dict(ctx=2048, fa="on", ub=256, ctk="q8_0", ctv="q8_0"))]
    cells = []
    for q in QUANTS:
        for fa in ("on", "off"):
            cells.append((q, dict(ctx=4096, fa=fa)))
    for ctx in (512, 1024, 2048, 8192, 16384, 32768):
        for fa in ("on", "off"):
            cells.append(("Q4_K_M", dict(ctx=ctx, fa=fa)))
    for ub in (128, 256, 1024):
        cells.append(("Q4_K_M", dict(ctx=4096, fa="on", ub=ub)))
    for kv in ("q8_0", "q4_0"):
        cells.append(("Q4_K_M", dict(ctx=4096, fa="on", ctk=kv, ctv=kv)))
    for np_ in (2, 4):
        cells.append(("Q4_K_M", dict(ctx=8192, fa="on", np=np_)))
    # llama.cpp's default on x86: a repacked copy of the Q4_0/Q4_K/Q8_0 weights for its AVX
    # kernels, in a CPU_REPACK buffer beside the mapped file. The cells above turn it off (-nr)
    # so that each buffer is the file's layout; these keep it.
    for q in ("Q8_0", "Q4_K_M", "Q4_0"):
        cells.append((q, dict(ctx=4096, fa="on", repack=True)))
    return cells


def cell_name(model, quant, s):
    parts = [model, quant, f"c{s['ctx']}", f"fa{s.get('fa', 'auto')}"]
    if s.get("ub"):
        parts.append(f"ub{s['ub']}")
    if s.get("ctk"):
        parts.append(f"k{s['ctk']}")
    if s.get("np"):
        parts.append(f"np{s['np']}")
    if s.get("repack"):
        parts.append("repack")
    return "-".join(parts) + ".log"


def memory_cell(model, quant, s, out, threads=1):
    cmd = [tool("llama-completion"), "-m", str(gguf(model, quant)), "-c", str(s["ctx"]),
           "-n", "1", "-p", "hello", "-t", str(threads), "-lv", "4", "-no-cnv", "--no-warmup",
           "-fa", s.get("fa", "auto"), "-fit", "off"]
    if s.get("ub"):
        cmd += ["-ub", str(s["ub"]), "-b", str(max(2048, s["ub"]))]
    if s.get("ctk"):
        cmd += ["-ctk", s["ctk"], "-ctv", s.get("ctv", s["ctk"])]
    if s.get("np"):
        cmd += ["-np", str(s["np"])]
    if not s.get("repack"):
        cmd += ["-nr"]
    path = out / "raw" / "memory" / cell_name(model, quant, s)
    rc, dt = run_trimmed(cmd, path, threads, timeout=600)
    return path, rc, dt


def memory(models, grid, out, rerun=False):
    """Runs the cells whose raw log is missing (all of them with `rerun`)."""
    for m in models:
        for q, s in memory_cells(grid):
            if not gguf(m, q).exists():
                log(f"skipping {m} {q}: no file (run prepare)")
                continue
            done = out / "raw" / "memory" / cell_name(m, q, s)
            if not rerun and done.exists() and "compute buffer size" in done.read_text():
                continue
            path, rc, dt = memory_cell(m, q, s, out)
            log(f"{path.name}: rc {rc}, {dt:.1f} s")


# ---------------------------------------------------------------------------------------------
# llama-bench and llama-batched-bench


# ---------------------------------------------------------------------------------------------
# the machine: memory bandwidth per thread count and instruction set


def cpu_flags():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith(("flags", "Features")):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_mhz():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("cpu MHz"):
                return float(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def build_isa(flags):
    """The widest instruction set the llama.cpp build uses here. build_llama_cpp.sh turns AMX
    off (it crashes on quantized models on these VMs), so an AMX CPU runs AVX-512 kernels."""
    if "avx512f" in flags:
        return "avx512"
    if "avx2" in flags and "fma" in flags:
        return "avx2"
    if "asimd" in flags:
        return "neon"
    return None


def machine(out, threads=(1, 2), mib=512, seconds=1.5):
    """Measures the memory bandwidth this VM gives 1 and 2 threads (membw.c: read and copy, the
    best of repeated passes over a buffer far larger than the caches, about 2 x `seconds` per
    thread count) and writes it with the instruction set and clock to `out`/machine.json."""
    exe = CACHE / "membw"
    src = HERE / "membw.c"
    if not exe.exists() or exe.stat().st_mtime < src.stat().st_mtime:
        CACHE.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-O3", "-march=native", "-pthread", "-o", str(exe), str(src)],
                       check=True)
    la = loadavg()
    runs = {}
    others = {}
    for t in threads:
        # like a bench cell: run again (three times at most) while other processes use more
        # than QUIET_CORES, and keep the quietest run
        best = None
        for _ in range(3):
            text, rc, _, busy = run_quiet([str(exe), str(t), str(mib), str(seconds)], 120,
                                          locked=True)
            if rc != 0:
                raise RuntimeError(f"membw {t}: exit {rc}")
            if best is None or busy < best[1]:
                best = (json.loads(text), busy)
            if busy <= QUIET_CORES:
                break
        runs[str(t)], others[str(t)] = best[0], round(best[1], 3)
    flags = cpu_flags()
    mhz = cpu_mhz()
    m = {
        "probe": f"membw THREADS {mib} {seconds} (scripts/ground-truth/membw.c, cc -O3 -march=native)",
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "loadavg_start": la,
        "loadavg_end": loadavg(),
        "nproc": os.cpu_count(),
        "read_gbs": {t: r["read_gbs"] for t, r in runs.items()},
        "copy_gbs": {t: r["copy_gbs"] for t, r in runs.items()},
        "others_cores": others,
        "isa": build_isa(flags),
        "cpu_flags": sorted(f for f in flags if f.startswith(("avx", "amx", "fma", "f16c", "asimd",
                                                              "sve"))),
        "ghz": round(mhz / 1000.0, 3) if mhz else None,
        "ghz_source": "/proc/cpuinfo cpu MHz",
    }
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "machine.json", "w") as f:
        json.dump(m, f, indent=1)
        f.write("\n")
    log(f"machine: read {m['read_gbs']} GB/s, copy {m['copy_gbs']} GB/s, {m['isa']}, "
        f"{m['ghz']} GHz, load average {la}")
    return m


def machine_fields(m):
    """The machine's numbers as `# harness:` fields: read bandwidth per thread count, ISA, clock,
    and the cores other processes used while the bandwidth was measured."""
    bw = ",".join(f"{t}:{v}" for t, v in m["read_gbs"].items())
    busy = ",".join(f"{t}:{v}" for t, v in m.get("others_cores", {}).items())
    return f"read_gbs={bw} membw_others_cores={busy} isa={m['isa']} ghz={m['ghz']} " \
        "loadavg_end={end}"


MEASURE_LOCK = Path("/tmp/headroom-measure.lock")
# Past this share of a core used by other processes while a cell ran, the cell runs again.
QUIET_CORES = 0.10


def busy_jiffies():
    """All CPUs' busy time from /proc/stat (user, nice, system, irq, softirq), in clock ticks."""
    f = Path("/proc/stat").read_text().splitlines()[0].split()
    return sum(int(f[i]) for i in (1, 2, 3, 6, 7))


def run_quiet(cmd, timeout, locked=False, stderr=subprocess.DEVNULL):
    """Runs cmd holding the measurement lock (`locked`: the caller holds it); returns (stdout, rc,
    wall seconds, the CPU time other processes used while it ran in cores: /proc/stat's busy time
    less the command's own rusage). `stderr` subprocess.STDOUT keeps the command's log lines."""
    hz = os.sysconf("SC_CLK_TCK")
    with open(MEASURE_LOCK, "a") as lock:
        if not locked:
            fcntl.flock(lock, fcntl.LOCK_EX)
        with tempfile.TemporaryFile("w+") as buf:
            j0, t0 = busy_jiffies(), time.time()
            p = subprocess.Popen(cmd, stdout=buf, stderr=stderr, text=True, errors="replace")
            deadline = t0 + timeout
            while True:
                pid, status, ru = os.wait4(p.pid, os.WNOHANG)
                if pid:
                    break
                if time.time() > deadline:
                    p.kill()
                time.sleep(0.05)
            wall, j1 = time.time() - t0, busy_jiffies()
            rc = os.waitstatus_to_exitcode(status)
            buf.seek(0)
            text = buf.read()
    own = ru.ru_utime + ru.ru_stime
    others = max(0.0, (j1 - j0) / hz - own) / max(wall, 1e-9)
    return text, rc, wall, others


def bench_cell(m, q, depth, t, reps, prompt, gen, tries, repack=True):
    """One llama-bench cell (pp `prompt` and tg `gen` at one depth and thread count), run up to
    `tries` times while other processes used more than QUIET_CORES of a core; the quietest run.
    `repack` False runs the file's own layout (`--repack 0`) instead of the CPU_REPACK copy."""
    cmd = [tool("llama-bench"), "-m", str(gguf(m, q)), "-p", str(prompt), "-n", str(gen),
           "-d", str(depth), "-t", str(t), "-r", str(reps), "-fa", "1", "-o", "jsonl"]
    if not repack:
        cmd += ["--repack", "0"]
    return cmd, quietest(cmd, tries, f"{m}-{q} t{t} d{depth}")


def quietest(cmd, tries, label, locked=False, stderr=subprocess.DEVNULL, check=None):
    """Runs cmd (run_quiet) up to `tries` times while other processes used more than QUIET_CORES
    of a core, and returns the quietest run: its text, rc, wall seconds, the cores others used,
    the load average before and after, and how many tries were made. `check(rc, text)`, when
    given, sees each run before the next is tried (to stop on a failed run)."""
    best = None
    for i in range(tries):
        la = loadavg()
        text, rc, wall, others = run_quiet(cmd, 1800, locked=locked, stderr=stderr)
        run = dict(text=text, rc=rc, wall=wall, others=others, la=la, la_end=loadavg())
        if best is None or others < best["others"]:
            best = run
        log(f"{label}: rc {rc}, {wall:.0f} s, others used {others:.2f} cores")
        if check:
            check(rc, text)
        if others <= QUIET_CORES:
            break
    best["tries"] = i + 1
    return best


def run_fields(mach, r):
    """The `# harness:` fields of a kept run: the machine's numbers, the load average at its end,
    the cores others used, its wall time and tries."""
    return machine_fields(mach).format(end=r["la_end"]) + \
        f" others_cores={r['others']:.3f} wall_s={r['wall']:.1f} tries={r['tries']}"


def bench(models, quants, depths, threads, reps, out, prompt=256, gen=32, tag=None, tries=3,
          until=None, repack=True):
    """llama-bench per (model, quant, threads, depth) cell, each in its own raw file whose header
    carries the machine's bandwidth, the load average and the CPU other processes used while the
    kept run ran. Cells past the wall-clock `until` (seconds since the epoch) are skipped."""
    for m in models:
        if until and time.time() > until:
            log(f"past the time bound: {m} skipped")
            continue
        # the bandwidth is measured again before each model's runs: a shared VM's share drifts
        with open(MEASURE_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            mach = machine(out, threads)
        for q in quants:
            if not gguf(m, q).exists():
                continue
            for t in threads:
                for d in depths:
                    if until and time.time() > until:
                        log(f"past the time bound: {m}-{q} t{t} d{d} skipped")
                        continue
                    cmd, r = bench_cell(m, q, d, t, reps, prompt, gen, tries, repack)
                    name = f"{m}-{q}-t{t}-d{d}" + ("" if repack else "-nr") + \
                        (f"-{tag}" if tag else "")
                    path = out / "raw" / "bench" / f"{name}.jsonl"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    with open(path, "w") as f:
                        f.write(header(cmd, t, r["rc"], r["la"], run_fields(mach, r)))
                        for line in r["text"].splitlines():
                            if line.startswith("{"):
                                # samples_ns/samples_ts repeat avg and stddev: dropped.
                                j = json.loads(line)
                                j.pop("samples_ns", None)
                                j.pop("samples_ts", None)
                                f.write(json.dumps(j) + "\n")


# The batch-scaling grid: two prompt lengths, 32 generated tokens, 1-8 parallel sequences, the
# context big enough for the largest cell (8 x (512 + 32) = 4352 cells).
BATCHED_NPP = [128, 512]
BATCHED_NTG = [32]
BATCHED_NPL = [1, 2, 4, 8]
BATCHED_KEEP = re.compile(KEEP.pattern + r"|^\||n_kv_max =")


def batched(models, quant, threads, out, import_only=False, run=None, tries=3):
    """llama-batched-bench on each model, its table and settings line kept in out/raw/, then
    imported into out/records.jsonl (with `import_only`, only the import). As in `bench`, the
    machine's bandwidth is measured first (out/machine.json) and written into each raw file's
    `# harness:` line, so the records carry `cpu` numbers; each model's run holds the measurement
    lock and runs again, `tries` times at most, while other processes used more than QUIET_CORES,
    and the quietest run is kept. `run` N writes a further run beside the first
    (`<model>-<quant>-runN.txt`); the comparison averages them."""
    for m in ([] if import_only else models):
        if not gguf(m, quant).exists():
            raise SystemExit(f"{gguf(m, quant)} is missing: run `harness.py prepare --models {m} "
                             f"--quants F16,{quant}` first")
        cmd = [tool("llama-batched-bench"), "-m", str(gguf(m, quant)), "-c", "8192",
               "-b", "2048", "-ub", "512", "-npp", ",".join(map(str, BATCHED_NPP)),
               "-ntg", ",".join(map(str, BATCHED_NTG)), "-npl", ",".join(map(str, BATCHED_NPL)),
               "-t", str(threads), "-fa", "on", "-lv", "4"]
        tag = f"-run{run}" if run else ""
        path = out / "raw" / f"{m}-{quant}{tag}.txt"
        with open(MEASURE_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            # the bandwidth again before each model's run: a shared VM's share drifts
            mach = machine(out, (threads,))

            def check(rc, text):
                if rc != 0:
                    raise SystemExit(f"{path.name}: llama-batched-bench exit {rc}: "
                                     f"{text.strip().splitlines()[-1:]}")

            best = quietest(cmd, tries, path.name, locked=True, stderr=subprocess.STDOUT,
                            check=check)
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w") as f:
            f.write(header(cmd, threads, best["rc"], best["la"], run_fields(mach, best)))
            for line in best["text"].splitlines():
                if BATCHED_KEEP.search(line):
                    f.write(line + "\n")
    import_raw(out, suffixes=(".txt",))


# ---------------------------------------------------------------------------------------------
# llama-server under a closed-loop load


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(port, proc, timeout=300):
    t_end = time.time() + timeout
    while time.time() < t_end:
        if proc.poll() is not None:
            raise RuntimeError(f"llama-server exited with {proc.returncode}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            c.request("GET", "/health")
            r = c.getresponse()
            r.read()
            if r.status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise RuntimeError("llama-server did not become healthy")


PROMPT_WORDS = ("the quick brown fox jumps over the lazy dog while a small cat watches from the "
                "window and counts the birds on the wire one by one ").split()


def prompt_of(n_words, seed):
    words = [PROMPT_WORDS[(seed * 7 + i) % len(PROMPT_WORDS)] for i in range(n_words)]
    return " ".join(words)


def one_request(port, prompt, n_predict, timeout):
    """A streamed /completion: (ttft_s, e2e_s, prompt_tokens, gen_tokens)."""
    body = json.dumps({"prompt": prompt, "n_predict": n_predict, "stream": True,
                       "ignore_eos": True, "cache_prompt": False, "temperature": 0.0})
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    t0 = time.perf_counter()
    c.request("POST", "/completion", body=body, headers={"Content-Type": "application/json"})
    r = c.getresponse()
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}: {r.read(500)!r}")
    ttft = None
    n_gen = 0
    prompt_n = None
    predicted_n = None
    while True:
        line = r.readline(1 << 20)
        if not line:
            break
        line = line.strip()
        if not line.startswith(b"data:"):
            continue
        payload = line[5:].strip()
        if payload == b"[DONE]":
            break
        ev = json.loads(payload)
        if ev.get("content") or ev.get("tokens"):
            if ttft is None:
                ttft = time.perf_counter() - t0
            n_gen += 1
        if ev.get("stop"):
            t = ev.get("timings") or {}
            prompt_n = t.get("prompt_n", ev.get("tokens_evaluated"))
            predicted_n = t.get("predicted_n", ev.get("tokens_predicted"))
            break
    e2e = time.perf_counter() - t0
    c.close()
    return ttft, e2e, prompt_n, predicted_n or n_gen


SERVER_COLS = ["model_file", "quant", "n_parallel", "clients", "request", "prompt_tokens",
               "gen_tokens", "ttft_s", "tpot_s", "e2e_s", "threads", "build", "loadavg"]


def drop_rows(csv_path, model, quant, n_parallel):
    """Removes the rows of one (model, quant, -np) run from runs.csv, so that a rerun replaces
    them instead of adding to them."""
    if not csv_path.exists():
        return
    with open(csv_path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    head, body = rows[0], rows[1:]
    keep = [r for r in body if not (r[0] == f"{model}.json" and r[1] == quant
                                    and r[2] == str(n_parallel))]
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        w.writerows(keep)
    log(f"runs.csv: replaced {len(body) - len(keep)} rows of {model} {quant} -np {n_parallel}")


def server(model, quant, n_parallel, clients_list, requests_per_client, n_predict, prompt_words,
           threads, out_dir, total_requests=None, replace=False):
    """llama-server under a closed loop. Each client count sends `requests_per_client` requests
    per client, or with `total_requests` at least that many in all (ceil(total / clients) per
    client)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path = out_dir / "runs.csv"
    if replace:
        drop_rows(csv_path, model, quant, n_parallel)
    new = not csv_path.exists()
    cols = SERVER_COLS
    port = free_port()
    ctx = 1024 * n_parallel
    cmd = [tool("llama-server"), "-m", str(gguf(model, quant)), "-np", str(n_parallel),
           "-c", str(ctx), "-t", str(threads), "--host", "127.0.0.1", "--port", str(port),
           "-fa", "on", "--no-webui", "-lv", "4", "--no-warmup", "-fit", "off"]
    log_path = out_dir / "raw" / f"server-{model}-{quant}-np{n_parallel}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    raw = open(log_path.with_suffix(".full"), "w")
    proc = subprocess.Popen(cmd, stdout=raw, stderr=subprocess.STDOUT)
    try:
        wait_healthy(port, proc)
        with open(csv_path, "a", newline="") as f:
            w = csv.writer(f)
            if new:
                w.writerow(cols)
            for clients in clients_list:
                rows = []
                lock = threading.Lock()
                la = loadavg()

                per_client = requests_per_client if total_requests is None \
                    else -(-total_requests // clients)

                def client(ci):
                    for k in range(per_client):
                        req = ci * per_client + k
                        ttft, e2e, pn, gn = one_request(
                            port, prompt_of(prompt_words, req), n_predict, timeout=600)
                        tpot = (e2e - ttft) / (gn - 1) if ttft is not None and gn and gn > 1 \
                            else None
                        with lock:
                            rows.append([f"{model}.json", quant, n_parallel, clients, req, pn, gn,
                                         f"{ttft:.4f}" if ttft is not None else "",
                                         f"{tpot:.5f}" if tpot is not None else "",
                                         f"{e2e:.4f}", threads, build_name(), la])

                ts = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
                t0 = time.time()
                for t in ts:
                    t.start()
                for t in ts:
                    t.join(timeout=1800)
                rows.sort(key=lambda r: r[4])
                w.writerows(rows)
                f.flush()
                log(f"server {model} {quant} np {n_parallel} clients {clients}: "
                    f"{len(rows)} requests in {time.time() - t0:.0f} s")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        raw.close()
    full = log_path.with_suffix(".full")
    with open(full, errors="replace") as src, open(log_path, "w") as dst:
        dst.write(header(cmd, threads))
        for line in src:
            if KEEP.search(line):
                dst.write(line)
    full.unlink()


# ---------------------------------------------------------------------------------------------
# import


def headroom_bin():
    exe = os.environ.get("HEADROOM")
    if exe:
        return [exe]
    built = REPO / "target" / "debug" / "headroom"
    if built.exists():
        return [str(built)]
    return ["cargo", "run", "-q", "-p", "headroom-cli", "--"]


def harness_header(path):
    with open(path, errors="replace") as f:
        first = f.readline()
    if not first.startswith("# harness:"):
        return {}
    return dict(kv.split("=", 1) for kv in first[len("# harness:"):].split() if "=" in kv
                and not kv.startswith("cmd="))


def import_raw(out, records_path=None, suffixes=(".log", ".jsonl")):
    """Every raw file through `headroom import`, each record given the machine it ran on (the CPU
    profile and its memory size), the harness's thread count and load average."""
    records_path = records_path or out / "records.jsonl"
    mem = mem_total_bytes()
    n = 0
    files = sorted(p for p in (out / "raw").rglob("*") if p.is_file()
                   and p.suffix in suffixes)
    with open(records_path, "w") as dst:
        for p in files:
            h = harness_header(p)
            res = subprocess.run(headroom_bin() + ["import", str(p)], stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True, check=True)
            for line in res.stdout.splitlines():
                r = json.loads(line)
                r["source"]["origin"] = str(p.relative_to(out))
                dev = {"name": HARDWARE}
                if mem:
                    dev["memory_total"] = mem
                r["devices"] = [dev]
                r.setdefault("backend", "CPU")
                # A speed record names the CPU it ran on by its measured numbers (--cpu
                # GBS,THREADS,ISA,GHZ): the bandwidth this VM gave its thread count.
                t = (r.get("settings") or {}).get("n_threads")
                bw = dict(kv.split(":") for kv in h.get("read_gbs", "").split(",") if ":" in kv)
                if r.get("speed") and t and str(t) in bw:
                    r["cpu"] = {"bandwidth_gbs": float(bw[str(t)]), "threads": t}
                    if h.get("isa") not in (None, "None") and h.get("ghz") not in (None, "None"):
                        r["cpu"]["isa"] = h["isa"]
                        r["cpu"]["ghz"] = float(h["ghz"])
                    if h.get("nproc"):
                        r["cpu"]["cores"] = int(h["nproc"])
                    if h.get("others_cores"):
                        r["cpu"]["other_cores"] = float(h["others_cores"])
                    mb = dict(kv.split(":") for kv in h.get("membw_others_cores", "").split(",")
                              if ":" in kv)
                    if str(t) in mb:
                        r["cpu"]["bandwidth_other_cores"] = float(mb[str(t)])
                if h:
                    note = f"harness: threads {h.get('threads')}, load average {h.get('loadavg')} " \
                           f"on {h.get('nproc')} cores"
                    if h.get("loadavg_end"):
                        note += f", {h['loadavg_end']} when it ended"
                    if h.get("others_cores"):
                        note += f"; other processes used {h['others_cores']} cores while it " \
                                f"ran (the quietest of {h.get('tries')} runs)"
                    r.setdefault("notes", []).append(note)
                    if h.get("build"):
                        r["runtime_version"] = h["build"]
                dst.write(json.dumps(r, separators=(",", ":")) + "\n")
                n += 1
    log(f"{n} records in {records_path}")
    return records_path


# ---------------------------------------------------------------------------------------------
# check


def check(records_path, max_median_pct, min_memory, min_speed):
    """`headroom validate --json` on the records: fails when import read too little of what
    llama.cpp printed or memory drifted past tolerance. Returns the failures."""
    recs = [json.loads(l) for l in open(records_path) if l.strip()]
    n_mem = sum(1 for r in recs if r.get("memory"))
    n_speed = sum(1 for r in recs if r.get("speed"))
    fails = []
    if n_mem < min_memory:
        fails.append(f"{n_mem} records with memory readings, expected at least {min_memory}: "
                     "import no longer reads llama.cpp's buffer lines")
    if n_speed < min_speed:
        fails.append(f"{n_speed} records with speed readings, expected at least {min_speed}: "
                     "import no longer reads llama-bench's output")
    res = subprocess.run(headroom_bin() + ["validate", "--json", str(records_path)],
                         stdout=subprocess.PIPE, text=True, check=True)
    v = json.loads(res.stdout)
    mem = v["memory"]
    by_q = {e["quantity"]: e for e in mem["quantities"]}
    for q in ("weights", "kv_cache", "compute"):
        e = by_q.get(q)
        if e is None:
            fails.append(f"no {q} comparison")
        elif e["median_abs_pct"] > max_median_pct:
            fails.append(f"{q}: median |err| {e['median_abs_pct']:.2f}% > {max_median_pct}%")
        else:
            log(f"{q}: n {e['n']}, median |err| {e['median_abs_pct']:.2f}%, "
                f"p90 {e['p90_abs_pct']:.2f}%")
    for o in mem["observations"]:
        if o["quantity"] == "kv_cache" and abs(o["predicted"] - o["measured"]) >= 1 << 20:
            fails.append(f"KV not exact to the MiB: {o['label']}: predicted {o['predicted']:.0f}"
                         f" B, measured {o['measured']:.0f} B")
    if mem["skipped"]:
        fails.append(f"records not predicted: {mem['skipped'][:3]}")
    for e in v["speed"]["quantities"]:
        log(f"speed {e['quantity']}: n {e['n']}, median |err| {e['median_abs_pct']:.1f}% "
            "(reported, not checked: the CPU speed fit is separate)")
    return fails


# ---------------------------------------------------------------------------------------------


def csv_list(s, conv=str):
    return [conv(x) for x in s.split(",") if x]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--models", type=csv_list, default=MODELS)
    p.add_argument("--quants", type=csv_list, default=QUANTS)
    p = sub.add_parser("memory")
    p.add_argument("--models", type=csv_list, default=MODELS)
    p.add_argument("--grid", choices=["full", "smoke"], default="full")
    p.add_argument("--rerun", action="store_true", help="run cells that already have a raw log")
    p = sub.add_parser("bench")
    p.add_argument("--models", type=csv_list, default=["qwen3-0.6b", "granite-4.0-h-350m"])
    p.add_argument("--quants", type=csv_list, default=["Q4_0"])
    p.add_argument("--depths", type=lambda s: csv_list(s, int), default=[0, 1024, 4096, 8192])
    p.add_argument("--threads", type=lambda s: csv_list(s, int), default=[1, 2])
    p.add_argument("--reps", type=int, default=2)
    p.add_argument("--prompt", type=int, default=256, help="llama-bench -p")
    p.add_argument("--gen", type=int, default=32, help="llama-bench -n")
    p.add_argument("--tag", help="suffix of the raw file name, for a second grid of one model")
    p.add_argument("--tries", type=int, default=3,
                   help="runs of a cell at most while others use over 10%% of a core")
    p.add_argument("--until", type=float, help="skip cells after this time (epoch seconds)")
    p.add_argument("--no-repack", action="store_true",
                   help="llama-bench --repack 0: the file's layout, no CPU_REPACK copy")
    sub.add_parser("machine")
    p = sub.add_parser("batched")
    p.add_argument("--models", type=csv_list, default=["qwen3-0.6b", "qwen2.5-0.5b"])
    p.add_argument("--quant", default="Q4_0")
    # one thread: on the shared two-core VM a second thread waits at every barrier whenever
    # another process runs, and the timings scatter by factors of several
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batched-out", type=Path, default=BATCHED_OUT)
    p.add_argument("--import-only", action="store_true", help="re-import raw/ without running")
    p.add_argument("--run", type=int, help="a further run N, kept beside the first")
    p = sub.add_parser("server")
    p.add_argument("--model", default="qwen3-0.6b")
    p.add_argument("--quant", default="Q4_0")
    p.add_argument("--np", type=int, default=4, dest="n_parallel")
    p.add_argument("--clients", type=lambda s: csv_list(s, int), default=[1, 2, 4, 8])
    p.add_argument("--requests", type=int, default=3, help="requests per client")
    p.add_argument("--total-requests", type=int,
                   help="at least this many requests per client count, split over the clients")
    p.add_argument("--replace", action="store_true",
                   help="drop runs.csv's rows of this model, quant and -np first")
    p.add_argument("--n-predict", type=int, default=32)
    p.add_argument("--prompt-words", type=int, default=96)
    p.add_argument("--threads", type=int, default=1, help="-t (one: see batched)")
    p.add_argument("--server-out", type=Path, default=SERVER_OUT)
    sub.add_parser("import")
    p = sub.add_parser("check")
    p.add_argument("records", type=Path)
    p.add_argument("--max-median-pct", type=float, default=2.0)
    p.add_argument("--min-memory", type=int, default=1)
    p.add_argument("--min-speed", type=int, default=0)
    p = sub.add_parser("cell")
    p.add_argument("model")
    p.add_argument("quant")
    p.add_argument("--ctx", type=int, default=4096)
    p.add_argument("--ub", type=int)
    p.add_argument("--ctk")
    p.add_argument("--ctv")
    p.add_argument("--fa", default="on")
    p.add_argument("--np", type=int)
    p.add_argument("--repack", action="store_true", help="keep llama.cpp's repacked weight copy")
    a = ap.parse_args()

    if a.cmd == "prepare":
        prepare(a.models, a.quants)
    elif a.cmd == "memory":
        memory(a.models, a.grid, a.out, a.rerun)
    elif a.cmd == "bench":
        bench(a.models, a.quants, a.depths, a.threads, a.reps, a.out, a.prompt, a.gen, a.tag,
              a.tries, a.until, not a.no_repack)
    elif a.cmd == "machine":
        with open(MEASURE_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            machine(a.out)
    elif a.cmd == "batched":
        batched(a.models, a.quant, a.threads, a.batched_out, a.import_only, a.run)
    elif a.cmd == "server":
        server(a.model, a.quant, a.n_parallel, a.clients, a.requests, a.n_predict,
               a.prompt_words, a.threads, a.server_out, a.total_requests, a.replace)
    elif a.cmd == "import":
        import_raw(a.out)
    elif a.cmd == "check":
        fails = check(a.records, a.max_median_pct, a.min_memory, a.min_speed)
        for f in fails:
            log(f"FAIL {f}")
        sys.exit(1 if fails else 0)
    elif a.cmd == "cell":
        prepare([a.model], [a.quant])
        s = dict(ctx=a.ctx, fa=a.fa, ub=a.ub, ctk=a.ctk, ctv=a.ctv or a.ctk, np=a.np,
                 repack=a.repack or None)
        s = {k: v for k, v in s.items() if v is not None}
        tmp = Path(tempfile.mkdtemp(prefix="headroom-cell-"))
        path, rc, _ = memory_cell(a.model, a.quant, s, tmp)
        recs = import_raw(tmp, tmp / "records.jsonl")
        subprocess.run(headroom_bin() + ["validate", str(recs)], check=False)
        print(f"raw output: {path}\nrecords: {recs}")


if __name__ == "__main__":
    main()
