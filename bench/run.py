"""Run every benchmark in this folder, one after the other, and print figures."""

import runpy
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    chosen = sys.argv[1:]
    for path in sorted(HERE.glob("bench_*.py")):
        if chosen and path.stem.removeprefix("bench_") not in chosen:
            continue
        print(f"\n=== {path.stem} ===", flush=True)
        runpy.run_path(str(path), run_name="__main__")


if __name__ == "__main__":
    main()
