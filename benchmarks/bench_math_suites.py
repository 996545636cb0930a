"""prolong's math verifier on another project's labelled test cases: math-verify's own suite.

The cases are not copied into this repository: point the script at a checkout of
https://github.com/huggingface/Math-Verify and it reads the ``(gold, pred, expected)``
parameters of its test modules (``tests/test_all.py``, ``test_boxed.py``,
``test_numina_cases.py``, ``test_open_thoughts.py``, ``test_strict.py``,
``test_yujianll.py``), then scores each pair with prolong's ``MathVerifier`` and with
math-verify itself (its default ``parse``/``verify``; some cases in its suite run under
other configurations, so math-verify does not score 100% here either).

    git clone https://github.com/huggingface/Math-Verify /tmp/Math-Verify
    python benchmarks/bench_math_suites.py /tmp/Math-Verify            # add -v for every miss
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import logging
import os
import sys
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

MODULES = ("test_all", "test_boxed", "test_numina_cases", "test_open_thoughts", "test_strict", "test_yujianll")


def collect(checkout: Path) -> list[tuple[str, str, str, int]]:
    """``(test, gold, prediction, expected 0/1)`` from the parametrised tests of ``checkout``."""
    if not (checkout / "tests").is_dir():
        raise SystemExit(f"{checkout}: no tests/ folder (give a checkout of huggingface/Math-Verify)")
    sys.path.insert(0, str(checkout))
    cases = []
    for mod_name in MODULES:
        try:
            mod = importlib.import_module(f"tests.{mod_name}")
        except ImportError as e:
            print(f"skipping tests/{mod_name}.py: {e}", file=sys.stderr)
            continue
        for name, fn in inspect.getmembers(mod, inspect.isfunction):
            for mark in getattr(fn, "pytestmark", []):
                if mark.name != "parametrize":
                    continue
                names = [x.strip() for x in mark.args[0].split(",")]
                for values in mark.args[1]:
                    d = dict(zip(names, getattr(values, "values", values)))
                    if "gold" in d and "pred" in d and ("expected" in d or "result" in d):
                        cases.append((f"{mod_name}::{name}", d["gold"], d["pred"], int(d.get("expected", d.get("result")))))
    return cases


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkout", type=Path, help="a checkout of huggingface/Math-Verify")
    ap.add_argument("-v", action="store_true", help="print every case prolong gets wrong")
    args = ap.parse_args(argv)
    cases = collect(args.checkout)
    if not cases:
        raise SystemExit("no labelled cases found")

    from prolong.envs.math import MathVerifier

    verifier = MathVerifier()
    try:
        from math_verify import parse, verify

        logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    except ImportError:
        parse = verify = None
    right = defaultdict(lambda: [0, 0, 0])  # test -> [prolong right, math-verify right, n]
    misses = []
    for test, gold, pred, expected in cases:
        got = int(bool(verifier(pred, gold).correct))
        right[test][0] += got == expected
        right[test][2] += 1
        if got != expected:
            misses.append((test, gold, pred, expected))
        if verify is not None:
            try:
                mv = int(bool(verify(parse(gold), parse(pred))))
            except Exception:  # noqa: BLE001 - a timeout or parse failure counts as 0
                mv = 0
            right[test][1] += mv == expected
    n = len(cases)
    p_total = sum(r[0] for r in right.values())
    m_total = sum(r[1] for r in right.values())
    print(f"{'test':55} {'n':>4} {'prolong':>8} {'math-verify':>12}")
    for test, (p, m, k) in sorted(right.items()):
        print(f"{test:55} {k:4d} {p / k:8.3f} {m / k:12.3f}")
    print(f"{'all':55} {n:4d} {p_total / n:8.3f} {m_total / n:12.3f}   (prolong {p_total}/{n})")
    if args.v:
        for test, gold, pred, expected in misses:
            print(f"MISS {test}: gold={gold[:120]!r} pred={pred[-160:]!r} expected={expected}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
