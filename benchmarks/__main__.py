"""Run every benchmark: ``python -m benchmarks`` (or ``python -m benchmarks trainer resets``).

Each ``benchmarks/bench_<name>.py`` runs in its own subprocess as
``python -m benchmarks.bench_<name>``, one after the other (they measure speed: never
two at once), with its output shown as it comes; a table of exit codes and times
closes the run. ``--list`` shows the names.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in HERE.glob("bench_*.py"))


def main(argv: list[str] | None = None) -> int:
    found = discover()
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(found)})")
    p.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    a = p.parse_args(argv)
    if a.list:
        print("\n".join(found))
        return 0
    unknown = [n for n in a.names if n.removeprefix("bench_") not in found]
    if unknown:
        print(f"error: no benchmark {', '.join(unknown)}; found: {', '.join(found)}", file=sys.stderr)
        return 2
    names = [n.removeprefix("bench_") for n in a.names] or found
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE.parent), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    results = []
    for name in names:
        print(f"\n=== bench_{name} " + "=" * max(0, 60 - len(name)), flush=True)
        t = time.time()
        rc = subprocess.call([sys.executable, "-m", f"benchmarks.bench_{name}"], cwd=HERE.parent, env=env)
        results.append((name, rc, time.time() - t))
    print("\n=== summary")
    for name, rc, secs in results:
        print(f"  bench_{name:<12} {'ok' if rc == 0 else f'FAILED (exit {rc})':<16} {secs:7.0f}s")
    return 0 if all(rc == 0 for _, rc, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
