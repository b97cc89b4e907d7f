"""Run the shared benchmark for Surge (def and async handlers) and Node's socket.io, side by side.

    python bench/compare.py [scenario ...]      # REPS=3 by default; writes docs/benchmarks.md

Every target runs the same scenarios with the same load generator, interleaved
rep by rep so drift hits all alike: the shared harness (``../shared/bench/run.sh``)
for its six scenarios, and ``bench/extra_load.js`` for three it lacks (binary
attachments, large messages, many rooms), run the harness's way (server on CPU 0,
generator on CPU 1) against ``bench/app_*.py`` and ``bench/node_app.js``.
The table gives medians and each Surge figure as a ratio to node-socketio from
the same run; ``docs/benchmarks.png`` charts the ratios.  With no scenario named,
the report also gets one run of bench/idle.py (IDLE_CLIENTS, 20,000 by default),
bench/chat.py and bench/routes.py, which measure what the harness cannot (CPU at
idle, latency, Flask routes).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shlex
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(os.environ.get("BENCH_HARNESS", ROOT.parent / "shared" / "bench" / "run.sh"))
EXTRA = ["binary", "large", "rooms"]
# The harness's scenario against every target's bench app with an environment: echo50 whose
# handler also looks the client's profile up and joins a room (REALISTIC in bench/app_*.py, node_app.js).
VARIANTS = {"realistic": ("echo50", {"REALISTIC": "1"})}
SCENARIOS = ["connect", "echo1", "echo50", "broadcast", "polling", "memory", *EXTRA, *VARIANTS]
TARGETS = {
    "surge-def": ["custom", shlex.join([sys.executable, str(ROOT / "bench" / "app_def.py")])],
    "surge-async": ["custom", shlex.join([sys.executable, str(ROOT / "bench" / "app_async.py")])],
    "node-socketio": ["node-socketio", shlex.join(["node", str(ROOT / "bench" / "node_app.js")])],
}
# scenario -> (JSON field, unit, higher is better)
HEADLINE = {
    "connect": ("connects_per_s", "sessions/s", True),
    "echo1": ("acks_per_s", "acks/s", True),
    "echo50": ("acks_per_s", "acks/s", True),
    "broadcast": ("deliveries_per_s", "deliveries/s", True),
    "polling": ("acks_per_s", "acks/s", True),
    "memory": ("kib_per_conn", "KiB/conn", False),
    "binary": ("acks_per_s", "acks/s", True),
    "large": ("acks_per_s", "acks/s", True),
    "rooms": ("deliveries_per_s", "deliveries/s", True),
    "realistic": ("acks_per_s", "acks/s", True),
}


def run(target: str, scenario: str, port: int) -> dict[str, object]:
    if scenario in EXTRA:
        return run_extra(target, scenario, port)
    harness_target, command = TARGETS[target]
    env = dict(os.environ, BENCH_PORT=str(port), REPS="1")
    if scenario in VARIANTS:
        scenario, extra = VARIANTS[scenario]
        env.update(extra)
        env.setdefault("SOCKET_IO", str(socket_io_package()))
        harness_target = "custom"  # Node too: bench/node_app.js, which reads the variant's environment
    if harness_target == "custom":
        env["BENCH_SERVER_CMD"] = command
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as results:
        env["RESULTS"] = results.name
        out = subprocess.run(
            ["bash", str(HARNESS), harness_target, scenario], env=env, capture_output=True, text=True, cwd=ROOT
        )
    return last_json(out.stdout, out.stderr)


def run_extra(target: str, scenario: str, port: int) -> dict[str, object]:
    """One extra scenario: the server pinned to CPU 0, ``bench/extra_load.js`` to CPU 1."""
    env = dict(os.environ, PORT=str(port), BENCH_PORT=str(port))
    env.setdefault("SOCKET_IO", str(socket_io_package()))
    with tempfile.TemporaryFile("w+") as log:  # a file, not a pipe nobody reads while the server runs
        server = subprocess.Popen(
            ["taskset", "-c", "0", *shlex.split(TARGETS[target][1])],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            if not wait_for_port(port, server):
                log.seek(0)
                return {"ok": False, "error": (log.read() or "no port")[-500:]}
            out = subprocess.run(
                ["taskset", "-c", "1", "node", str(ROOT / "bench" / "extra_load.js"), scenario],
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            return last_json(out.stdout, out.stderr)
        finally:
            server.terminate()
            server.wait(timeout=10)


def socket_io_package() -> Path:
    """Node's socket.io as the shared harness installed it (next to it, or in its writable copy)."""
    places = [
        base / "node_modules" / "socket.io" for base in (HARNESS.parent, Path.home() / ".cache" / "socketio-bench")
    ]
    if not any(place.is_dir() for place in places):
        subprocess.run(["bash", str(HARNESS.parent / "setup.sh"), "gen", "node-socketio"], check=True)
    for place in places:
        if place.is_dir():
            return place
    raise SystemExit(f"the shared harness's setup did not install socket.io in {' or '.join(map(str, places))}")


def wait_for_port(port: int, server: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and server.poll() is None:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                time.sleep(0.5)
                return True
        time.sleep(0.1)
    return False


def last_json(stdout: str, stderr: str) -> dict[str, object]:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"ok": False, "error": stderr[-500:]}
    result: dict[str, object] = json.loads(lines[-1])
    return result


def figure(result: dict[str, object], scenario: str) -> float | None:
    field = HEADLINE[scenario][0]
    value = result.get(field)
    return float(value) if result.get("ok") and isinstance(value, (int, float)) else None


def main() -> None:
    scenarios = sys.argv[1:] or SCENARIOS
    reps = int(os.environ.get("REPS", "3"))
    port = int(os.environ.get("BENCH_PORT", "5099"))
    raw: dict[tuple[str, str], list[float]] = {}
    for rep in range(reps):
        for scenario in scenarios:
            for target in TARGETS:
                result = run(target, scenario, port)
                value = figure(result, scenario)
                print(
                    f"rep {rep + 1} {target:14} {scenario:10} {value if value is not None else result.get('error')}",
                    flush=True,
                )
                if value is not None:
                    raw.setdefault((target, scenario), []).append(value)
    sections = []
    if not sys.argv[1:]:
        idle = ["idle.py", os.environ.get("IDLE_CLIENTS", "20000"), "20"]
        sections = [("Idle clients", idle), ("A chat", ["chat.py"]), ("Flask routes", ["routes.py"])]
    write_report(scenarios, reps, raw, [(title, script_table(argv)) for title, argv in sections])


def script_table(argv: list[str]) -> list[str]:
    """What one of bench/'s own scripts prints (a Markdown table and the command)."""
    out = subprocess.run([sys.executable, str(ROOT / "bench" / argv[0]), *argv[1:]], capture_output=True, text=True)
    return out.stdout.strip().splitlines() if out.returncode == 0 else [f"failed: {out.stderr[-500:]}"]


def surge_build() -> str:
    """Which build of Surge the bench apps import: this process's sys.path is theirs."""
    spec = importlib.util.find_spec("surge.dispatch")
    origin = spec.origin if spec is not None else None
    if origin is not None and origin.endswith(".so"):
        return "the hot path compiled by mypyc (`make compiled`, what `pip install` builds with a C compiler)"
    return "pure Python (no compiled build on PYTHONPATH)"


def write_report(
    scenarios: list[str],
    reps: int,
    raw: dict[tuple[str, str], list[float]],
    sections: list[tuple[str, list[str]]],
) -> None:
    med = {key: statistics.median(values) for key, values in raw.items()}
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on this project's 2-core machine with the shared harness",
        "(`../shared/bench/run.sh`: server pinned to CPU 0, load generator to CPU 1), median of",
        f"{reps} run(s) per cell.  Ratio = Surge / node-socketio from the same run (for memory, lower is better).",
        "",
        f"Surge's build: {surge_build()}.",
        "",
        "Reproduce: `make bench` (or, after `make compiled`, `REPS=3 PYTHONPATH=$PWD/build/compiled python bench/compare.py`).",
        "",
        "| scenario | unit | node-socketio | surge-def | ratio | surge-async | ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    ratios: dict[str, dict[str, float]] = {}
    for scenario in scenarios:
        _, unit, higher = HEADLINE[scenario]
        node = med.get(("node-socketio", scenario))
        row = [scenario, unit, fmt(node)]
        for target in ("surge-def", "surge-async"):
            value = med.get((target, scenario))
            ratio = None
            if value is not None and node:
                ratio = value / node if higher else node / value
                ratios.setdefault(target, {})[scenario] = ratio
            row += [fmt(value), f"{ratio:.2f}x" if ratio is not None else "-"]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "For memory the ratio is node / surge, so above 1 means Surge uses less.",
        "",
        "The first six scenarios are the shared harness's (see its README).  The last three are",
        "`bench/extra_load.js`, run the same way against `bench/app_*.py` and `bench/node_app.js`:",
        "`binary` echoes a 1 KiB binary attachment (50 clients, closed loop); `large` echoes a",
        "64 KiB string (10 clients); `rooms` has 1000 clients in 100 rooms of 10 and one sender",
        "with 50 emits in flight, each to a random room (deliveries counted where they arrive).",
        "`realistic` is the harness's echo50 against the same apps with `REALISTIC=1`: each echo",
        "handler also looks the client's profile up in a dict and joins a room, as an app's would.",
        "",
        *[line for title, table in sections for line in (f"## {title}", "", *table, "")],
        "## Profiling",
        "",
        "`python bench/inprocess.py [websocket|polling] [async|def]` measures Surge's own cost per",
        "echo with no sockets (the bench app behind an in-memory transport, 50 clients), repeatably;",
        "`--profile` prints cProfile's top functions, and `--instructions` counts the instructions",
        "per echo under callgrind, which do not move with the machine's speed (websocket, compiled",
        "build, 2026-12-03: 51.7k with `async def` handlers, 79.7k with `def` ones; the pure build's",
        "`async def`: 79.2k).  For the whole server under load, pin a bench app with `taskset -c 0`,",
        "drive it with `../shared/bench/gen/loadgen.js` from CPU 1, and record it with",
        "`perf record -e cpu-clock -g -p PID` (the kernel's share, the wake-ups).",
        "",
    ]
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    if chart(ratios, scenarios):
        lines += ["![Surge as a ratio of node-socketio](benchmarks.png)", ""]
    (docs / "benchmarks.md").write_text("\n".join(lines))
    print("\n".join(lines))


def fmt(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:,.0f}" if value >= 100 else f"{value:.1f}"


def chart(ratios: dict[str, dict[str, float]], scenarios: list[str]) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.38
    for i, target in enumerate(("surge-def", "surge-async")):
        xs = [j + (i - 0.5) * width for j in range(len(scenarios))]
        ax.bar(xs, [ratios.get(target, {}).get(s, 0) for s in scenarios], width, label=target)
    ax.axhline(1.0, color="black", linewidth=1, linestyle="--", label="node-socketio = 1")
    ax.set_xticks(range(len(scenarios)), scenarios)
    ax.set_ylabel("ratio to node-socketio (higher is better)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(ROOT / "docs" / "benchmarks.png", dpi=110)
    return True


if __name__ == "__main__":
    main()
