"""The ledger's accounts, transactions and entries move here from the marketplace app with their
tables, rows, constraints and indexes: only Django's state changes.
"""

from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("marketplace", "0004_pipeline_records_move_to_core"),
    ]

    state_only = True

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LedgerAccount",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("user_available", "Available"),
                                    ("user_held", "Held"),
                                    ("user_exiting", "Leaving the vault"),
                                    ("platform_fees", "Platform fees"),
                                    ("escrow", "Escrow"),
                                    ("bounty_pool", "Bounty pool"),
                                    ("royalties", "Royalties"),
                                    ("external", "External"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("reference", models.CharField(blank=True, default="", max_length=128)),
                        ("balance", models.DecimalField(decimal_places=6, default=Decimal("0"), max_digits=20)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "owner",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="ledger_accounts",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "marketplace_ledgeraccount",
                    },
                ),
                migrations.CreateModel(
                    name="LedgerTransaction",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("credit", "Credit"),
                                    ("faucet", "Faucet"),
                                    ("hold", "Hold"),
                                    ("release", "Release"),
                                    ("capture", "Capture"),
                                    ("transfer", "Transfer"),
                                    ("withdrawal", "Withdrawal"),
                                    ("exit", "Vault exit"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("idempotency_key", models.CharField(max_length=200, unique=True)),
                        ("memo", models.CharField(blank=True, max_length=255)),
                        ("correlation_id", models.CharField(blank=True, max_length=128)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "created_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "marketplace_ledgertransaction",
                    },
                ),
                migrations.CreateModel(
                    name="LedgerEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("amount", models.DecimalField(decimal_places=6, max_digits=20)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        (
                            "account",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="entries",
                                to="ledger.ledgeraccount",
                            ),
                        ),
                        (
                            "transaction",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="entries",
                                to="ledger.ledgertransaction",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "ledger entries",
                        "db_table": "marketplace_ledgerentry",
                    },
                ),
                migrations.AddConstraint(
                    model_name="ledgeraccount",
                    constraint=models.UniqueConstraint(
                        fields=("kind", "owner", "reference"),
                        name="ledger_account_kind_owner_ref_uniq",
                        nulls_distinct=False,
                    ),
                ),
                migrations.AddConstraint(
                    model_name="ledgeraccount",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("kind", "external"), ("balance__gte", 0), _connector="OR"),
                        name="ledger_account_balance_non_negative",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="ledgeraccount",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("kind__in", ("user_available", "user_held", "user_exiting")), _negated=True),
                            ("owner__isnull", False),
                            _connector="OR",
                        ),
                        name="ledger_account_user_kinds_have_owner",
                    ),
                ),
                migrations.AddIndex(
                    model_name="ledgertransaction",
                    index=models.Index(fields=["created_at", "id"], name="ledger_txn_created_idx"),
                ),
                migrations.AddIndex(
                    model_name="ledgerentry",
                    index=models.Index(fields=["account", "created_at", "id"], name="ledger_entry_account_idx"),
                ),
                migrations.AddConstraint(
                    model_name="ledgerentry",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("amount", 0), _negated=True), name="ledger_entry_amount_non_zero"
                    ),
                ),
            ],
        ),
    ]
