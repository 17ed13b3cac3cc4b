"""The ledger ≡ vault suite (issue #10): the randomized sequence of tests/escrow/test_ledger_vault.py
at bench size — LEDGER_VAULT_BENCH_OPERATIONS (10,000) operations from four threads on anvil and
PostgreSQL, with a fresh seed each run (LEDGER_VAULT_SEED fixes one) — then every check. Prints
the seed, the operations done by kind, the rate and any difference; a seed that finds one belongs
in the test's REGRESSION_SEEDS. Needs anvil on CHAIN_RPC_URL (`make bench` starts it)."""

import os
import random

from bench.common import header, throwaway_database

OPERATIONS = int(os.environ.get("LEDGER_VAULT_BENCH_OPERATIONS", "10000"))


def run() -> None:
    from chain.client import ChainUnavailable, chain_status
    from tests.escrow.ledger_vault_sequence import run_sequence

    print(header("ledger_vault"))
    try:
        chain_status()
    except ChainUnavailable as exc:
        print(f"skipped: {exc}")
        return
    seed = int(os.environ.get("LEDGER_VAULT_SEED") or random.SystemRandom().randrange(10**9))
    with throwaway_database():
        result = run_sequence(seed=seed, operations=OPERATIONS, quiet_timeout=900.0)
    print(result.report())
    print(f"{OPERATIONS / result.seconds:.1f} operations/s over {result.seconds:.0f} s (4 threads + the beat)")
    print("ledger = vault: " + ("OK" if result.ok else f"FAILED — add seed {seed} to REGRESSION_SEEDS"))
