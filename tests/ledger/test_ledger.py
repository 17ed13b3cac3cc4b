from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import IntegrityError, connection, transaction

from ledger.choices import LedgerAccountKind as K
from ledger.choices import LedgerTransactionKind as T
from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from ledger.selectors import balance_for, ledger_check, ledger_entries_for
from ledger.services import (
    AccountSpec,
    IdempotencyConflict,
    InsufficientFunds,
    InvalidAmount,
    UnbalancedTransaction,
    account_for,
    check_amount,
    ledger_capture,
    ledger_credit_user,
    ledger_hold,
    ledger_post,
    ledger_release,
    ledger_transfer,
    platform_account_for,
)

pytestmark = pytest.mark.django_db

D = Decimal


def _balance(account: LedgerAccount) -> Decimal:
    account.refresh_from_db(fields=["balance"])
    return account.balance


def test_a_balanced_posting_writes_entries_and_moves_balances(buyer):
    external = platform_account_for(kind=K.EXTERNAL)
    available = account_for(user=buyer, kind=K.USER_AVAILABLE)
    txn = ledger_post(
        kind=T.CREDIT,
        idempotency_key="t-1",
        memo="deposit",
        entries=[(external, D("-12.345678")), (available, D("12.345678"))],
    )
    assert txn.replayed is False
    assert sorted(txn.entries.values_list("amount", flat=True)) == [D("-12.345678"), D("12.345678")]
    assert _balance(available) == D("12.345678")
    assert _balance(external) == D("-12.345678")  # only the outside world may go negative
    assert ledger_check().ok


def test_accounts_are_created_on_first_use_from_specs(buyer):
    ledger_credit_user(user=buyer, amount=D("5"), idempotency_key="c-1")
    escrow = AccountSpec(kind=K.ESCROW, reference="deal:7")
    ledger_hold(user=buyer, amount=D("5"), idempotency_key="h-1")
    ledger_capture(user=buyer, amount=D("5"), to_account=escrow, idempotency_key="cap-1")
    assert platform_account_for(kind=K.ESCROW, reference="deal:7").balance == D("5")
    assert LedgerAccount.objects.filter(kind=K.ESCROW).count() == 1
    assert LedgerAccount.objects.filter(kind=K.EXTERNAL).count() == 1  # NULL owners are one account
    assert balance_for(user=buyer) == {"available": D("0"), "held": D("0"), "exiting": D("0"), "total": D("0")}


@pytest.mark.parametrize(
    "entries, error",
    [
        ([(D("-10"), "a"), (D("9.999999"), "b")], UnbalancedTransaction),
        ([(D("-1.0000001"), "a"), (D("1.0000001"), "b")], InvalidAmount),  # 7 decimal places
        ([(D("0"), "a"), (D("0"), "b")], InvalidAmount),
        ([(D("-1"), "a")], UnbalancedTransaction),
        ([(D("NaN"), "a"), (D("1"), "b")], InvalidAmount),
        ([(D("-1e20"), "a"), (D("1e20"), "b")], InvalidAmount),
    ],
)
def test_bad_postings_are_refused_and_write_nothing(buyer, entries, error):
    accounts = {"a": platform_account_for(kind=K.EXTERNAL), "b": account_for(user=buyer, kind=K.USER_AVAILABLE)}
    with pytest.raises(error):
        ledger_post(kind=T.CREDIT, idempotency_key="bad", entries=[(accounts[n], amount) for amount, n in entries])
    assert not LedgerTransaction.objects.exists() and not LedgerEntry.objects.exists()


@pytest.mark.parametrize("amount", [1.5, 1, "1.5"])
def test_floats_and_other_non_decimals_are_refused_with_type_error(buyer, amount):
    with pytest.raises(TypeError):
        ledger_credit_user(user=buyer, amount=amount, idempotency_key="float")
    with pytest.raises(TypeError):
        check_amount(amount)
    assert not LedgerTransaction.objects.exists()


def test_trailing_zeros_beyond_six_places_are_still_exact():
    assert check_amount(D("1.50000000")) == D("1.500000")


def test_same_key_replays_the_first_transaction_without_posting_again(buyer):
    first = ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="dep-1")
    again = ledger_credit_user(user=buyer, amount=D("10.000000"), idempotency_key="dep-1")
    assert again.pk == first.pk and again.replayed is True
    assert LedgerTransaction.objects.count() == 1 and LedgerEntry.objects.count() == 2
    assert balance_for(user=buyer)["available"] == D("10")


def test_same_key_with_different_entries_is_a_conflict(buyer, seller):
    ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="dep-1")
    with pytest.raises(IdempotencyConflict):
        ledger_credit_user(user=buyer, amount=D("11"), idempotency_key="dep-1")
    with pytest.raises(IdempotencyConflict):
        ledger_credit_user(user=seller, amount=D("10"), idempotency_key="dep-1")
    with pytest.raises(IdempotencyConflict):
        ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="dep-1", kind=T.FAUCET)
    assert LedgerTransaction.objects.count() == 1
    assert balance_for(user=buyer)["available"] == D("10")


def test_insufficient_funds_is_refused_and_nothing_is_written(buyer):
    ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="dep-1")
    with pytest.raises(InsufficientFunds) as info:
        ledger_hold(user=buyer, amount=D("10.000001"), idempotency_key="hold-1")
    assert info.value.shortfall == D("0.000001") and info.value.account_kind == K.USER_AVAILABLE
    assert LedgerTransaction.objects.count() == 1 and LedgerEntry.objects.count() == 2
    assert balance_for(user=buyer) == {"available": D("10"), "held": D("0"), "exiting": D("0"), "total": D("10")}
    # The key was not spent: a later, affordable hold under it goes through.
    ledger_hold(user=buyer, amount=D("10"), idempotency_key="hold-1")
    assert balance_for(user=buyer) == {"available": D("0"), "held": D("10"), "exiting": D("0"), "total": D("10")}


def test_insufficient_funds_inside_a_callers_transaction_rolls_back_only_the_post(buyer):
    ledger_credit_user(user=buyer, amount=D("1"), idempotency_key="dep-1")
    with transaction.atomic():
        with pytest.raises(InsufficientFunds):
            ledger_hold(user=buyer, amount=D("2"), idempotency_key="hold-1")
        ledger_hold(user=buyer, amount=D("1"), idempotency_key="hold-2")
    assert balance_for(user=buyer)["held"] == D("1")


def test_the_database_refuses_a_negative_balance_even_around_the_service(buyer):
    account = account_for(user=buyer, kind=K.USER_AVAILABLE)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerAccount.objects.filter(pk=account.pk).update(balance=D("-0.000001"))


def test_hold_release_capture_and_transfer_round_trip(buyer, seller):
    ledger_credit_user(user=buyer, amount=D("100"), idempotency_key="dep")
    ledger_hold(user=buyer, amount=D("60"), idempotency_key="h")
    ledger_release(user=buyer, amount=D("20"), idempotency_key="r")
    with pytest.raises(InsufficientFunds):
        ledger_release(user=buyer, amount=D("40.000001"), idempotency_key="r2")
    escrow = platform_account_for(kind=K.ESCROW, reference="auction:1")
    ledger_capture(user=buyer, amount=D("40"), to_account=escrow, idempotency_key="cap")
    ledger_transfer(
        from_account=escrow,
        to_account=account_for(user=seller, kind=K.USER_AVAILABLE),
        amount=D("38"),
        idempotency_key="payout",
    )
    ledger_transfer(
        from_account=escrow, to_account=AccountSpec(kind=K.PLATFORM_FEES), amount=D("2"), idempotency_key="fee"
    )
    assert balance_for(user=buyer) == {"available": D("60"), "held": D("0"), "exiting": D("0"), "total": D("60")}
    assert balance_for(user=seller)["available"] == D("38")
    assert _balance(escrow) == 0 and platform_account_for(kind=K.PLATFORM_FEES).balance == D("2")
    report = ledger_check()
    assert report.ok and report.transactions_checked == 6 and report.total_sum == 0


@pytest.mark.parametrize("amount", [D("0"), D("-1")])
def test_convenience_services_need_positive_amounts(buyer, amount):
    with pytest.raises(InvalidAmount):
        ledger_hold(user=buyer, amount=amount, idempotency_key="x")


def test_entries_selector_lists_only_the_users_entries_newest_first(buyer, seller):
    ledger_credit_user(user=buyer, amount=D("3"), idempotency_key="b1")
    ledger_credit_user(user=seller, amount=D("4"), idempotency_key="s1")
    ledger_hold(user=buyer, amount=D("1"), idempotency_key="b2")
    entries = list(ledger_entries_for(user=buyer))
    assert [e.transaction.idempotency_key for e in entries] == ["b2", "b2", "b1"]
    assert {e.account.owner_id for e in entries} == {buyer.pk}


def test_check_reports_a_corrupted_balance_and_the_command_fails(buyer, capsys):
    ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="dep")
    call_command("ledger_check")
    assert "OK" in capsys.readouterr().out
    account = account_for(user=buyer, kind=K.USER_AVAILABLE)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LedgerAccount._meta.db_table} SET balance = balance + 1 WHERE id = %s", [account.pk])
    report = ledger_check()
    assert not report.ok
    assert report.balance_mismatches == [(account.pk, K.USER_AVAILABLE, D("11"), D("10"))]
    with pytest.raises(CommandError):
        call_command("ledger_check")
    assert f"MISMATCH account {account.pk}" in capsys.readouterr().out


def test_check_reports_an_unbalanced_transaction(buyer):
    txn = ledger_credit_user(user=buyer, amount=D("10"), idempotency_key="dep")
    entry = txn.entries.get(amount=D("10"))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {LedgerEntry._meta.db_table} SET amount = 9 WHERE id = %s", [entry.pk])
    report = ledger_check()
    assert report.unbalanced_transactions == [(txn.pk, D("-1"))]
    assert report.total_sum == D("-1") and not report.ok


def test_posting_costs_a_fixed_number_of_queries(buyer, django_assert_max_num_queries):
    available = account_for(user=buyer, kind=K.USER_AVAILABLE)
    external = platform_account_for(kind=K.EXTERNAL)
    # pre-check, insert (in a savepoint), lock, entries, balances: 5 statements plus 4 savepoint ones
    with django_assert_max_num_queries(9):
        ledger_post(kind=T.CREDIT, idempotency_key="q", entries=[(external, D("-1")), (available, D("1"))])
