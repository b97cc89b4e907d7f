"""Run the shared benchmark for Surge (def and async handlers) and Node's socket.io, side by side.

    python bench/compare.py [scenario ...]      # REPS=3 by default; writes docs/benchmarks.md

Every target runs the same scenarios with the same load generator
(``../shared/bench/run.sh``), interleaved rep by rep so drift hits all alike.
The table gives medians and each Surge figure as a ratio to node-socketio from
the same run; ``docs/benchmarks.png`` charts the ratios.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HARNESS = Path(os.environ.get("BENCH_HARNESS", ROOT.parent / "shared" / "bench" / "run.sh"))
SCENARIOS = ["connect", "echo1", "echo50", "broadcast", "polling", "memory"]
TARGETS = {
    "surge-def": ["custom", f"{sys.executable} {ROOT / 'bench' / 'app_def.py'}"],
    "surge-async": ["custom", f"{sys.executable} {ROOT / 'bench' / 'app_async.py'}"],
    "node-socketio": ["node-socketio", ""],
}
# scenario -> (JSON field, unit, higher is better)
HEADLINE = {
    "connect": ("connects_per_s", "sessions/s", True),
    "echo1": ("acks_per_s", "acks/s", True),
    "echo50": ("acks_per_s", "acks/s", True),
    "broadcast": ("deliveries_per_s", "deliveries/s", True),
    "polling": ("acks_per_s", "acks/s", True),
    "memory": ("kib_per_conn", "KiB/conn", False),
}


def run(target: str, scenario: str, port: int) -> dict[str, object]:
    harness_target, command = TARGETS[target]
    env = dict(os.environ, BENCH_PORT=str(port), REPS="1")
    if command:
        env["BENCH_SERVER_CMD"] = command
    with tempfile.NamedTemporaryFile(suffix=".jsonl") as results:
        env["RESULTS"] = results.name
        out = subprocess.run(
            ["bash", str(HARNESS), harness_target, scenario], env=env, capture_output=True, text=True, cwd=ROOT
        )
    lines = [line for line in out.stdout.splitlines() if line.startswith("{")]
    if not lines:
        return {"ok": False, "error": out.stderr[-500:]}
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
    write_report(scenarios, reps, raw)


def write_report(scenarios: list[str], reps: int, raw: dict[tuple[str, str], list[float]]) -> None:
    med = {key: statistics.median(values) for key, values in raw.items()}
    lines = [
        "# Benchmarks",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d} on this project's 2-core machine with the shared harness",
        "(`../shared/bench/run.sh`: server pinned to CPU 0, load generator to CPU 1), median of",
        f"{reps} run(s) per cell.  Ratio = Surge / node-socketio from the same run (for memory, lower is better).",
        "",
        "Reproduce: `make bench` (or `REPS=3 python bench/compare.py`).",
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
    lines += ["", "For memory the ratio is node / surge, so above 1 means Surge uses less.", ""]
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
