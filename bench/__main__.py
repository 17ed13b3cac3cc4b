"""`make bench`: measure the hot paths against the real services and print figures.

    python -m bench                 # every suite
    python -m bench foundation      # one suite (foundation, ratelimit, http, leads, pipeline, auctions, live, chain, settlement, ledger_vault, delivery, analytics)

Runs on the test profile in a throwaway database (`bench_leadengine`, TEST_DATABASE_NAME), never
on your data; each suite creates it and drops it at the end. Record the printed tables in
docs/benchmarks.md with the date and the machine.
"""

import argparse
import importlib
import os
import sys
from pathlib import Path

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
os.environ.setdefault("TEST_DATABASE_NAME", "bench_leadengine")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

SUITES = (
    "foundation",
    "ratelimit",
    "http",
    "leads",
    "pipeline",
    "auctions",
    "live",
    "chain",
    "settlement",
    "ledger_vault",
    "delivery",
    "analytics",
)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "suites", nargs="*", metavar="suite", help=f"one or more of: {', '.join(SUITES)} (default: all)"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.suites if name not in SUITES]
    if unknown:
        parser.error(f"unknown suite {', '.join(unknown)}; choose from {', '.join(SUITES)}")
    for index, name in enumerate(args.suites or SUITES):
        if index:
            print()
        before = os.getloadavg()[0]
        print(f"load average (1 min) before {name}: {before:.2f}")
        importlib.import_module(f"bench.{name}").run()
        print(f"load average (1 min) after {name}: {os.getloadavg()[0]:.2f}")
        if before > 1.0:
            print(f"NOT QUIET: {name} started at load {before:.2f} (> 1.0): its figures do not count; run it again")


if __name__ == "__main__":
    main()
