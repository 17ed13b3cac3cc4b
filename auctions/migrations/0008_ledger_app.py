"""Sales and bounty awards point at the ledger's models in their new app (the same tables)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("auctions", "0007_vault_exits"),
        ("ledger", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="bountyaward",
                    name="ledger_transaction",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.ledgertransaction"
                    ),
                ),
                migrations.AlterField(
                    model_name="sale",
                    name="escrow_account",
                    field=models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="ledger.ledgeraccount"
                    ),
                ),
            ],
        ),
    ]
