"""A worker process for the dispute SIGKILL tests: applies one decided dispute's outcome and stops
dead at a chosen point, printing a marker, so the test can kill it there (real SIGKILL, a real
PostgreSQL session dying with an open transaction)."""

import os
import sys
import time

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")

import django  # noqa: E402

django.setup()

from chain import transactions  # noqa: E402
from escrow.services import disputes, settlement  # noqa: E402


def main(dispute_id: int, point: str) -> None:
    if point == "before-commit":  # the refund's transaction recorded under the row's lock, not committed
        real_record = settlement.chain_tx_record

        def record_then_hang(**kwargs):
            tx = real_record(**kwargs)
            print("AT before-commit", flush=True)
            time.sleep(120)
            return tx

        settlement.chain_tx_record = record_then_hang
    elif point == "before-send":  # committed, the broadcast not made yet

        def hang_instead_of_send(tx_id):
            print("AT before-send", flush=True)
            time.sleep(120)

        transactions._send_after_commit = hang_instead_of_send
    disputes.dispute_outcome_apply(dispute_id=dispute_id)
    print("DONE", flush=True)


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
