"""Two versions of Surge side by side in the shared harness, rep by rep (a refactor must not cost speed).

    python bench/before_after.py REV [scenario ...]      (default: echo50 broadcast polling memory)

REV (a commit, e.g. main~3) is checked out in a temporary worktree and run with
this checkout's Python environment (its src/ first on PYTHONPATH); both run
bench/app_async.py and bench/app_def.py of *this* checkout.  With BUILD=compiled,
each side is first compiled as ``make compiled`` compiles it, and that build runs.
Prints a table of medians and the after/before ratio; REPS (default 3) and DURATION
pass through to ../shared/bench/run.sh.
"""

from __future__ import annotations

import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HARNESS = Path(os.environ.get("BENCH_HARNESS", ROOT.parent / "shared" / "bench" / "run.sh"))
HEADLINE = {"echo50": "acks_per_s", "echo1": "acks_per_s", "polling": "acks_per_s", "connect": "connects_per_s"}


def figure(row: dict[str, object]) -> float:
    scenario = str(row["scenario"])
    if scenario == "memory":
        return float(row["kib_per_conn"])  # type: ignore[arg-type]
    if scenario == "broadcast":
        return float(row["deliveries_per_s"])  # type: ignore[arg-type]
    return float(row[HEADLINE.get(scenario, "acks_per_s")])  # type: ignore[arg-type]


def run(src: Path, app: str, scenario: str, results: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(src), RESULTS=str(results), REPS="1")
    env["BENCH_SERVER_CMD"] = shlex.join([sys.executable, str(ROOT / "bench" / f"app_{app}.py")])
    subprocess.run(["bash", str(HARNESS), "custom", scenario], env=env, check=True, stdout=subprocess.DEVNULL)


def compiled(checkout: Path, into: Path) -> Path:
    """``checkout`` built as ``make compiled`` builds it (mypyc, with this environment's packages)."""
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--target", str(into)]
    subprocess.run([*pip, str(checkout)], check=True, cwd=checkout)
    return into


def main() -> None:
    rev, scenarios = sys.argv[1], sys.argv[2:] or ["echo50", "broadcast", "polling", "memory"]
    reps = int(os.environ.get("REPS", "3"))
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "old"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(old), rev], check=True)
        try:
            sides = {"before": old / "src", "after": ROOT / "src"}
            if os.environ.get("BUILD") == "compiled":
                sides = {label: compiled(src.parent, Path(tmp) / label) for label, src in sides.items()}
            seen: dict[tuple[str, str, str], list[float]] = {}
            for _ in range(reps):
                for scenario in scenarios:
                    for app in ("async", "def"):
                        for label, src in sides.items():
                            results = Path(tmp) / "r.jsonl"
                            results.unlink(missing_ok=True)
                            run(src, app, scenario, results)
                            row = json.loads(results.read_text().splitlines()[-1])
                            seen.setdefault((scenario, app, label), []).append(figure(row))
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], check=True)
    print(f"| scenario | handlers | before ({rev}) | after | after/before |")
    print("|---|---|---:|---:|---:|")
    for scenario in scenarios:
        for app in ("async", "def"):
            before = statistics.median(seen[(scenario, app, "before")])
            after = statistics.median(seen[(scenario, app, "after")])
            print(f"| {scenario} | {app} | {before:,.1f} | {after:,.1f} | {after / before:.2f} |")


if __name__ == "__main__":
    main()
