"""What metrics and the Admin UI's instrumentation cost, in the shared harness, rep by rep.

    python bench/instrumented.py [scenario ...]      (default: echo50 broadcast)

Runs bench/app_def.py plain, with METRICS=1, with ADMIN=1 (instrument(), development mode,
no UI signed in) and with both, interleaved; prints medians and the ratio to plain.
REPS (default 3) and DURATION pass through to ../shared/bench/run.sh.
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

from before_after import HARNESS, ROOT, figure

VARIANTS = {"plain": {}, "metrics": {"METRICS": "1"}, "admin": {"ADMIN": "1"}, "both": {"METRICS": "1", "ADMIN": "1"}}


def main() -> None:
    scenarios = sys.argv[1:] or ["echo50", "broadcast"]
    seen: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "r.jsonl"
        for _ in range(int(os.environ.get("REPS", "3"))):
            for scenario in scenarios:
                for name, extra in VARIANTS.items():
                    results.unlink(missing_ok=True)
                    env = dict(
                        os.environ,
                        **extra,
                        PYTHONPATH=os.environ.get("PYTHONPATH", str(ROOT / "src")),
                        RESULTS=str(results),
                        REPS="1",
                    )
                    env["BENCH_SERVER_CMD"] = shlex.join([sys.executable, str(ROOT / "bench" / "app_def.py")])
                    subprocess.run(
                        ["bash", str(HARNESS), "custom", scenario], env=env, check=True, stdout=subprocess.DEVNULL
                    )
                    seen.setdefault((scenario, name), []).append(
                        figure(json.loads(results.read_text().splitlines()[-1]))
                    )
    print("| scenario | " + " | ".join(VARIANTS) + " |")
    print("|---|" + "---:|" * len(VARIANTS))
    for scenario in scenarios:
        plain = statistics.median(seen[(scenario, "plain")])
        cells = [
            f"{statistics.median(seen[(scenario, name)]):,.0f} ({statistics.median(seen[(scenario, name)]) / plain:.2f})"
            for name in VARIANTS
        ]
        print(f"| {scenario} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
