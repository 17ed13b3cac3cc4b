"""Models that move between apps keep their tables and rows (issue #11).

Each test builds a database of its own at the migrations as they stood before a move, puts rows in
through the models as they were then, migrates it to today's layout with `manage.py migrate` (what
a self-hoster runs) and reads everything back through today's models: same rows, same passwords,
same keys, the ledger still balanced, and staff permissions (content types) following the models."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import make_password
from django.core.management import call_command
from django.db import connections
from django.utils import timezone

from tests.migration_db import migrate, scratch_database

pytestmark = pytest.mark.django_db(transaction=True)

# The migrations as they stood before users, API keys and the ledger left the marketplace app.
BEFORE_ACCOUNTS_AND_LEDGER = [
    ("admin", "0003_logentry_add_action_flag_choices"),
    ("auth", "0012_alter_user_first_name_max_length"),
    ("contenttypes", "0002_remove_content_type_name"),
    ("sessions", "0001_initial"),
    ("core", "0001_initial"),
    ("marketplace", "0004_pipeline_records_move_to_core"),
    ("verticals", "0001_initial"),
    ("leads", "0005_csv_import_check"),
    ("auctions", "0007_vault_exits"),
    ("chain", "0003_wallets"),
    ("escrow", "0008_exit_payable_claim_steps"),
]


@pytest.fixture
def scratch(django_db_blocker, monkeypatch):
    with scratch_database(django_db_blocker, monkeypatch) as alias:
        yield alias


def _recorded(alias):
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT app, name FROM django_migrations")
        return set(cursor.fetchall())


def _forget(alias, app, name):
    """The move's state-only migration ran as a dependency of the old targets (in today's graph the
    user model's swappable dependency points at accounts): an old database never recorded it."""
    with connections[alias].cursor() as cursor:
        cursor.execute("DELETE FROM django_migrations WHERE app = %s AND name = %s", [app, name])


def _old_world(apps, alias):
    """Users, a key, a vertical, a lead, an auction, a sale, a settlement, ledger postings, and the
    content types, a permission and a group as staff had them: all through the old models. (Other
    apps' historical models already name the user model by today's setting, so they take ids.)"""
    now = timezone.now()
    User = apps.get_model("marketplace", "User")
    ApiKey = apps.get_model("marketplace", "ApiKey")
    Account = apps.get_model("marketplace", "LedgerAccount")
    Txn = apps.get_model("marketplace", "LedgerTransaction")
    Entry = apps.get_model("marketplace", "LedgerEntry")
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")

    seller = User.objects.using(alias).create(
        email="seller@example.com", password=make_password("seller pass 1"), is_seller=True, full_name="Sam Seller"
    )
    buyer = User.objects.using(alias).create(
        email="buyer@example.com", password=make_password("buyer pass 1"), is_buyer=True, time_zone="Europe/Berlin"
    )
    ApiKey.objects.using(alias).create(user=buyer, name="crm", prefix="abcd1234", hashed_key="f" * 64)

    types = {
        model: ContentType.objects.using(alias).create(app_label="marketplace", model=model)
        for model in ("user", "apikey", "ledgeraccount", "ledgertransaction", "ledgerentry")
    }
    view_ledger = Permission.objects.using(alias).create(
        name="Can view ledger account", codename="view_ledgeraccount", content_type=types["ledgeraccount"]
    )
    auditors = Group.objects.using(alias).create(name="auditors")
    auditors.permissions.add(view_ledger)
    buyer.groups.add(auditors)

    available = Account.objects.using(alias).create(kind="user_available", owner=buyer, balance=Decimal("60"))
    escrow = Account.objects.using(alias).create(kind="escrow", reference="sale:1", balance=Decimal("40"))
    external = Account.objects.using(alias).create(kind="external", balance=Decimal("-100"))
    credit = Txn.objects.using(alias).create(kind="credit", idempotency_key="credit:1", created_by=seller)
    Entry.objects.using(alias).create(transaction=credit, account=available, amount=Decimal("100"))
    Entry.objects.using(alias).create(transaction=credit, account=external, amount=Decimal("-100"))
    capture = Txn.objects.using(alias).create(kind="capture", idempotency_key="capture:1")
    Entry.objects.using(alias).create(transaction=capture, account=available, amount=Decimal("-40"))
    Entry.objects.using(alias).create(transaction=capture, account=escrow, amount=Decimal("40"))

    vertical = (
        apps.get_model("verticals", "Vertical")
        .objects.using(alias)
        .create(slug="solar", name="Solar", reserve_price=Decimal("25"))
    )
    lead = (
        apps.get_model("leads", "Lead")
        .objects.using(alias)
        .create(
            vertical=vertical,
            seller_id=seller.pk,
            source="api",
            state="CA",
            consent_text="I agree to be contacted.",
            consent_at=now,
            consent_ip="203.0.113.9",
            status="sold",
            quality_score=81,
            price=Decimal("40"),
        )
    )
    auction = (
        apps.get_model("auctions", "Auction")
        .objects.using(alias)
        .create(
            lead=lead,
            vertical=vertical,
            seller_id=seller.pk,
            reserve_price=Decimal("25"),
            buy_now_price=Decimal("75"),
            duration_seconds=60,
            deadline=now,
            log_salt="s" * 32,
            status="closed",
            closed_at=now,
            result="sold",
        )
    )
    sale = (
        apps.get_model("auctions", "Sale")
        .objects.using(alias)
        .create(
            auction=auction,
            lead=lead,
            buyer_id=buyer.pk,
            seller_id=seller.pk,
            price=Decimal("40"),
            escrow_account=escrow,
            bid_log_digest="d" * 64,
            bid_log_length=1,
        )
    )
    apps.get_model("escrow", "Settlement").objects.using(alias).create(
        sale=sale,
        chain_id=31337,
        buyer_address="0x" + "b" * 40,
        seller_address="0x" + "5" * 40,
        amount=Decimal("40"),
        data_hash="0x" + "a" * 64,
        data_salt="0x" + "c" * 64,
        release_after=now + timedelta(days=3),
    )
    return {"seller": seller.pk, "buyer": buyer.pk, "sale": sale.pk, "lead": lead.pk, "view_ledger": view_ledger.pk}


def test_users_keys_ledger_leads_sales_and_settlements_survive_the_move_to_accounts_and_ledger(scratch):
    old = migrate(scratch, BEFORE_ACCOUNTS_AND_LEDGER)
    _forget(scratch, "accounts", "0001_initial")
    ids = _old_world(old, scratch)
    assert ("accounts", "0001_initial") not in _recorded(scratch)

    call_command("migrate", database=scratch, verbosity=0)

    from django.contrib.auth.models import Group, Permission
    from django.contrib.contenttypes.models import ContentType

    from accounts.models import ApiKey, User
    from auctions.models import Sale
    from escrow.models import Settlement
    from leads.models import Lead
    from ledger.models import LedgerAccount, LedgerEntry, LedgerTransaction

    recorded = _recorded(scratch)
    assert {
        ("accounts", "0001_initial"),
        ("ledger", "0001_initial"),
        ("marketplace", "0005_accounts_and_ledger_apps"),
    } <= recorded

    users = User.objects.using(scratch)
    seller, buyer = users.get(pk=ids["seller"]), users.get(pk=ids["buyer"])
    assert (seller.email, seller.full_name, seller.is_seller) == ("seller@example.com", "Sam Seller", True)
    assert seller.check_password("seller pass 1") and buyer.check_password("buyer pass 1")
    assert buyer.time_zone == "Europe/Berlin"
    key = ApiKey.objects.using(scratch).get(prefix="abcd1234")
    assert (key.user_id, key.name, key.hashed_key) == (buyer.pk, "crm", "f" * 64)

    accounts = LedgerAccount.objects.using(scratch)
    assert accounts.get(kind="user_available", owner=buyer).balance == Decimal("60")
    assert accounts.get(kind="escrow", reference="sale:1").balance == Decimal("40")
    assert LedgerTransaction.objects.using(scratch).get(idempotency_key="credit:1").created_by_id == seller.pk
    entries = LedgerEntry.objects.using(scratch)
    assert entries.count() == 4
    for txn in LedgerTransaction.objects.using(scratch):
        assert sum(e.amount for e in entries.filter(transaction=txn)) == 0
    for account in accounts:
        assert sum(e.amount for e in entries.filter(account=account)) == account.balance

    lead = Lead.objects.using(scratch).get(pk=ids["lead"])
    assert (lead.seller_id, lead.vertical.slug, lead.quality_score) == (seller.pk, "solar", 81)
    sale = Sale.objects.using(scratch).select_related("escrow_account").get(pk=ids["sale"])
    assert (sale.buyer_id, sale.seller_id, sale.price) == (buyer.pk, seller.pk, Decimal("40"))
    assert sale.escrow_account.reference == "sale:1"
    settlement = Settlement.objects.using(scratch).get(sale_id=sale.pk)
    assert (settlement.amount, settlement.state) == (Decimal("40"), "pending")

    # Staff permissions follow the models: the same permission row, now on the ledger's type.
    types = ContentType.objects.db_manager(scratch)
    assert not types.filter(app_label="marketplace", model__in=["user", "apikey", "ledgeraccount"]).exists()
    assert types.get(app_label="ledger", model="ledgeraccount").pk == (
        Permission.objects.using(scratch).get(pk=ids["view_ledger"]).content_type_id
    )
    assert types.filter(app_label="accounts", model="user").count() == 1
    assert Group.objects.using(scratch).get(name="auditors").user_set.get() == buyer
    assert buyer.groups.get().permissions.get().codename == "view_ledgeraccount"

    # Nothing is left for makemigrations to do against it, and running migrate again is a no-op.
    call_command("migrate", database=scratch, verbosity=0)
    assert _recorded(scratch) == recorded


def test_dead_letters_and_idempotency_keys_keep_their_rows_when_they_move_to_core(scratch):
    old = migrate(scratch, [("marketplace", "0003_vault_exits"), ("contenttypes", "0002_remove_content_type_name")])
    DeadLetter = old.get_model("marketplace", "DeadLetter")
    IdempotencyKey = old.get_model("marketplace", "IdempotencyKey")
    ContentType = old.get_model("contenttypes", "ContentType")
    letter = DeadLetter.objects.using(scratch).create(
        task_name="leads.score_lead",
        task_id="t-1",
        queue="leads.score",
        args=[],
        kwargs={"lead_id": 7},
        exception_type="builtins.ValueError",
        error="boom",
        correlation_id="cid-1",
    )
    IdempotencyKey.objects.using(scratch).create(scope="buy_now:3", key="k-1", result={"sale_id": 9, "listing_id": 4})
    ContentType.objects.using(scratch).create(app_label="marketplace", model="deadletter")

    call_command("migrate", database=scratch, verbosity=0)

    from django.contrib.contenttypes.models import ContentType as CurrentContentType

    from core.models import DeadLetter as Moved
    from core.models import IdempotencyKey as MovedKey

    moved = Moved.objects.using(scratch).get(pk=letter.pk)
    assert (moved.task_name, moved.kwargs, moved.correlation_id, moved.status) == (
        "leads.score_lead",
        {"lead_id": 7},
        "cid-1",
        "pending",
    )
    assert MovedKey.objects.using(scratch).get(scope="buy_now:3", key="k-1").result == {"sale_id": 9, "listing_id": 4}
    types = CurrentContentType.objects.db_manager(scratch)
    assert types.get(app_label="core", model="deadletter")
    assert not types.filter(app_label="marketplace", model="deadletter").exists()


def test_staff_bookmarks_to_the_old_admin_pages_land_on_the_new_ones(client):
    from accounts.models import User

    staff = User.objects.create_superuser(email="staff@example.com", password="staff pass 1")
    client.force_login(staff)
    for old, new in (
        (f"/admin/marketplace/user/{staff.pk}/change/", f"/admin/accounts/user/{staff.pk}/change/"),
        ("/admin/marketplace/apikey/", "/admin/accounts/apikey/"),
        ("/admin/marketplace/ledgeraccount/?q=staff", "/admin/ledger/ledgeraccount/?q=staff"),
        ("/admin/marketplace/deadletter/", "/admin/core/deadletter/"),
    ):
        response = client.get(old)
        assert (response.status_code, response["Location"]) == (301, new)
        assert client.get(new).status_code == 200
