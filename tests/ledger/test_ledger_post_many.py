"""ledger_post_many: several postings in a constant number of statements, each exactly once
(the close's capture and releases); platform_account_ensure: a per-object account in one statement."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from ledger.choices import LedgerAccountKind as K
from ledger.choices import LedgerTransactionKind as T
from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction
from ledger.selectors import balance_for, ledger_check
from ledger.services import (
    AccountSpec,
    IdempotencyConflict,
    InsufficientFunds,
    Posting,
    account_for,
    ledger_credit_user,
    ledger_hold,
    ledger_post_many,
    platform_account_ensure,
)
from tests.concurrency import run_threads
from tests.factories import UserFactory

D = Decimal


def _held(user) -> AccountSpec:
    return AccountSpec(kind=K.USER_HELD, owner_id=user.pk)


def _available(user) -> AccountSpec:
    return AccountSpec(kind=K.USER_AVAILABLE, owner_id=user.pk)


def _buyer_holding(amount: Decimal, tag: str):
    buyer = UserFactory(is_buyer=True)
    ledger_credit_user(user=buyer, amount=D("100"), idempotency_key=f"dep-{tag}-{buyer.pk}")
    ledger_hold(user=buyer, amount=amount, idempotency_key=f"hold-{tag}-{buyer.pk}")
    return buyer


def _close_like(winner, loser, escrow, price: Decimal, tag: str = "a1") -> list[Posting]:
    """What a close posts: the winner's price captured, the rest of both holds released."""
    return [
        Posting(kind=T.CAPTURE, idempotency_key=f"sale:{tag}", entries=[(_held(winner), -price), (escrow, price)]),
        Posting(
            kind=T.RELEASE,
            idempotency_key=f"release:{tag}:{winner.pk}",
            entries=[(_held(winner), -(D("30") - price)), (_available(winner), D("30") - price)],
        ),
        Posting(
            kind=T.RELEASE,
            idempotency_key=f"release:{tag}:{loser.pk}",
            entries=[(_held(loser), D("-20")), (_available(loser), D("20"))],
        ),
    ]


def _post(postings):
    with transaction.atomic():
        return ledger_post_many(postings=postings)


@pytest.mark.django_db
def test_a_batch_posts_every_transaction_once_in_a_constant_number_of_statements():
    winner, loser = _buyer_holding(D("30"), "w"), _buyer_holding(D("20"), "l")
    escrow = platform_account_ensure(kind=K.ESCROW, reference="sale:a1")
    with CaptureQueriesContext(connection) as queries:
        txns = _post(_close_like(winner, loser, escrow, D("22.5")))
    # SAVEPOINT/RELEASE of the test's atomic aside: lock, transactions, entries, balances.
    assert len([q for q in queries if "SAVEPOINT" not in q["sql"]]) == 4
    assert [t.kind for t in txns] == [T.CAPTURE, T.RELEASE, T.RELEASE]
    assert not any(t.replayed for t in txns)
    assert LedgerEntry.objects.filter(transaction__in=txns).count() == 6
    assert balance_for(user=winner) == {"available": D("77.5"), "held": D("0"), "exiting": D("0"), "total": D("77.5")}
    assert balance_for(user=loser)["available"] == D("100") and balance_for(user=loser)["held"] == 0
    assert LedgerAccount.objects.get(pk=escrow.pk).balance == D("22.5")
    assert ledger_check().ok


@pytest.mark.django_db
def test_a_batch_posted_again_is_replayed_whole_or_in_part_and_moves_nothing_twice():
    winner, loser = _buyer_holding(D("30"), "w"), _buyer_holding(D("20"), "l")
    escrow = platform_account_ensure(kind=K.ESCROW, reference="sale:a1")
    postings = _close_like(winner, loser, escrow, D("22.5"))
    first = _post(postings[:1])  # the capture alone first: the batch then replays it and posts the rest
    second = _post(postings)
    assert second[0].pk == first[0].pk and second[0].replayed and not second[1].replayed
    third = _post(postings)
    assert [t.pk for t in third] == [t.pk for t in second] and all(t.replayed for t in third)
    assert LedgerTransaction.objects.filter(idempotency_key__regex=r"^(sale|release):").count() == 3
    assert balance_for(user=winner)["total"] == D("77.5") and LedgerAccount.objects.get(pk=escrow.pk).balance == D(
        "22.5"
    )
    assert ledger_check().ok


@pytest.mark.django_db
def test_a_key_reused_for_another_movement_is_a_conflict_and_the_batch_writes_nothing():
    winner, loser = _buyer_holding(D("30"), "w"), _buyer_holding(D("20"), "l")
    escrow = platform_account_ensure(kind=K.ESCROW, reference="sale:a1")
    _post(_close_like(winner, loser, escrow, D("22.5"))[:1])
    with pytest.raises(IdempotencyConflict):
        _post(_close_like(winner, loser, escrow, D("25")))
    assert LedgerTransaction.objects.filter(idempotency_key__startswith="release:").count() == 0
    assert balance_for(user=loser)["held"] == D("20") and ledger_check().ok


@pytest.mark.django_db
def test_a_batch_that_overdraws_any_account_is_refused_whole():
    winner, loser = _buyer_holding(D("30"), "w"), _buyer_holding(D("20"), "l")
    escrow = platform_account_ensure(kind=K.ESCROW, reference="sale:a1")
    postings = _close_like(winner, loser, escrow, D("22.5"))
    postings[2] = Posting(
        kind=T.RELEASE,
        idempotency_key=f"release:a1:{loser.pk}",
        entries=[(_held(loser), D("-20.000001")), (_available(loser), D("20.000001"))],
    )
    with pytest.raises(InsufficientFunds) as info:
        _post(postings)
    assert info.value.shortfall == D("0.000001") and info.value.account_kind == K.USER_HELD
    assert not LedgerTransaction.objects.filter(idempotency_key__regex=r"^(sale|release):").exists()
    assert balance_for(user=winner)["held"] == D("30") and ledger_check().ok


@pytest.mark.django_db
def test_a_later_credit_in_the_batch_does_not_cover_an_earlier_overdraft():
    """Postings are checked in order, as ledger_post one by one would refuse the first."""
    winner = _buyer_holding(D("30"), "w")
    escrow = platform_account_ensure(kind=K.ESCROW, reference="sale:a2")
    overdraw = Posting(
        kind=T.CAPTURE, idempotency_key="sale:a2", entries=[(_held(winner), D("-40")), (escrow, D("40"))]
    )
    topup = Posting(
        kind=T.HOLD,
        idempotency_key="hold:a2:more",
        entries=[(_available(winner), D("-20")), (_held(winner), D("20"))],
    )
    with pytest.raises(InsufficientFunds) as info:
        _post([overdraw, topup])
    assert info.value.shortfall == D("10") and info.value.account_kind == K.USER_HELD
    assert balance_for(user=winner)["held"] == D("30")
    assert [t.replayed for t in _post([topup, overdraw])] == [False, False]  # in this order it fits
    assert balance_for(user=winner)["held"] == D("10") and ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_a_batch_must_run_in_the_callers_transaction_and_keys_must_differ():
    buyer = _buyer_holding(D("10"), "b")
    posting = Posting(
        kind=T.RELEASE, idempotency_key="r", entries=[(_held(buyer), D("-1")), (_available(buyer), D("1"))]
    )
    with pytest.raises(RuntimeError):
        ledger_post_many(postings=[posting])
    with pytest.raises(ValueError):
        _post([posting, posting])


@pytest.mark.django_db
def test_platform_account_ensure_creates_once_and_then_finds_it():
    first = platform_account_ensure(kind=K.ESCROW, reference="sale:7")
    again = platform_account_ensure(kind=K.ESCROW, reference="sale:7")
    assert first.pk == again.pk and LedgerAccount.objects.filter(reference="sale:7").count() == 1
    assert again.balance == 0 and again.owner_id is None


@pytest.mark.django_db(transaction=True)
def test_the_same_batch_from_eight_connections_at_once_moves_money_once():
    winner, loser = _buyer_holding(D("30"), "w"), _buyer_holding(D("20"), "l")

    def close(i: int):
        with transaction.atomic():
            escrow = platform_account_ensure(kind=K.ESCROW, reference="sale:race")
            return ledger_post_many(postings=_close_like(winner, loser, escrow, D("22.5"), tag="race"))

    results = run_threads(8, close)
    assert all(isinstance(r, list) for r in results), results
    assert sum(1 for r in results if not r[0].replayed) == 1
    assert len({tuple(t.pk for t in r) for r in results}) == 1
    assert LedgerAccount.objects.filter(kind=K.ESCROW, reference="sale:race").count() == 1
    assert balance_for(user=winner)["total"] == D("77.5") and balance_for(user=loser)["total"] == D("100")
    assert ledger_check().ok


@pytest.mark.django_db(transaction=True)
def test_batches_over_shared_accounts_in_opposite_orders_do_not_deadlock():
    buyers = [_buyer_holding(D("50"), f"b{i}") for i in range(4)]
    for buyer in buyers:
        account_for(user=buyer, kind=K.USER_AVAILABLE)

    def release(i: int):
        order = buyers if i % 2 else list(reversed(buyers))
        with transaction.atomic():
            return ledger_post_many(
                postings=[
                    Posting(
                        kind=T.RELEASE,
                        idempotency_key=f"release:{i}:{b.pk}",
                        entries=[(_held(b), D("-1")), (_available(b), D("1"))],
                    )
                    for b in order
                ]
            )

    results = run_threads(12, release)
    assert all(isinstance(r, list) for r in results), results
    assert all(
        balance_for(user=b) == {"available": D("62"), "held": D("38"), "exiting": D("0"), "total": D("100")}
        for b in buyers
    )
    assert ledger_check().ok
