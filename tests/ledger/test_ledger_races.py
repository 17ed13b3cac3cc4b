"""Real threads against PostgreSQL: locks, not luck, keep the books straight."""

import threading
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from ledger.choices import LedgerAccountKind as K
from ledger.models import LedgerAccount, LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from ledger.services import (
    InsufficientFunds,
    account_for,
    ledger_credit_user,
    ledger_hold,
    ledger_transfer,
)
from tests.concurrency import run_threads as _run_threads
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal


def test_twenty_concurrent_holds_of_ten_from_a_hundred_exactly_ten_succeed():
    buyer = UserFactory(is_buyer=True)
    ledger_credit_user(user=buyer, amount=D("100"), idempotency_key="dep")
    available = account_for(user=buyer, kind=K.USER_AVAILABLE)
    seen, done = [], threading.Event()

    def watch():
        try:
            while not done.is_set():
                seen.append(LedgerAccount.objects.values_list("balance", flat=True).get(pk=available.pk))
        finally:
            connection.close()

    watcher = threading.Thread(target=watch)
    watcher.start()
    results = _run_threads(20, lambda i: ledger_hold(user=buyer, amount=D("10"), idempotency_key=f"hold-{i}"))
    done.set()
    watcher.join()

    assert sum(isinstance(r, LedgerTransaction) for r in results) == 10
    assert sum(isinstance(r, InsufficientFunds) for r in results) == 10
    assert balance_for(user=buyer) == {"available": D("0"), "held": D("100"), "exiting": D("0"), "total": D("100")}
    assert seen and min(seen) >= 0
    assert LedgerTransaction.objects.filter(kind="hold").count() == 10
    assert ledger_check().ok


def test_concurrent_credits_with_one_idempotency_key_post_one_transaction():
    buyer = UserFactory(is_buyer=True)  # no accounts yet: their creation races too
    results = _run_threads(12, lambda i: ledger_credit_user(user=buyer, amount=D("25"), idempotency_key="deposit-1"))
    assert all(isinstance(r, LedgerTransaction) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert sum(not r.replayed for r in results) == 1
    assert LedgerTransaction.objects.count() == 1
    assert balance_for(user=buyer)["available"] == D("25")
    assert LedgerAccount.objects.filter(owner=buyer).count() == 1
    assert ledger_check().ok


def test_concurrent_first_credits_create_one_account_and_lose_nothing():
    buyer = UserFactory(is_buyer=True)
    results = _run_threads(12, lambda i: ledger_credit_user(user=buyer, amount=D("1.5"), idempotency_key=f"d-{i}"))
    assert all(isinstance(r, LedgerTransaction) for r in results), results
    assert LedgerAccount.objects.filter(owner=buyer, kind=K.USER_AVAILABLE).count() == 1
    assert balance_for(user=buyer)["available"] == D("18")
    assert ledger_check().ok


def test_opposite_direction_transfers_between_two_accounts_do_not_deadlock():
    alice, bob = UserFactory(is_buyer=True), UserFactory(is_buyer=True)
    ledger_credit_user(user=alice, amount=D("100"), idempotency_key="a")
    ledger_credit_user(user=bob, amount=D("100"), idempotency_key="b")
    a, b = account_for(user=alice, kind=K.USER_AVAILABLE), account_for(user=bob, kind=K.USER_AVAILABLE)

    def shuttle(i: int):
        source, target = (a, b) if i % 2 else (b, a)
        for n in range(10):
            ledger_transfer(from_account=source, to_account=target, amount=D("0.5"), idempotency_key=f"t-{i}-{n}")
        return "ok"

    results = _run_threads(16, shuttle)
    assert results == ["ok"] * 16  # a deadlock would surface as OperationalError in some thread
    assert balance_for(user=alice)["available"] == D("100") and balance_for(user=bob)["available"] == D("100")
    assert LedgerTransaction.objects.filter(kind="transfer").count() == 160

    report = ledger_check()
    assert report.ok and report.total_sum == 0
    call_command("ledger_check")  # passes after all that

    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LedgerAccount._meta.db_table} SET balance = balance - 0.000001 WHERE id = %s", [b.pk])
    with pytest.raises(CommandError):
        call_command("ledger_check")
