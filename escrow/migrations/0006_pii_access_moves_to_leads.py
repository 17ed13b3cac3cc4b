# The PII access log moves down to leads (leads.PiiAccess, keyed by lead: a lead is sold once), so
# the seller's reads of its own leads go to the same log as the buyers' without leads importing
# escrow. Existing rows are copied in id order, then escrow's table is dropped.

from django.db import migrations


def copy_to_leads(apps, schema_editor):
    db = schema_editor.connection.alias
    old = apps.get_model("escrow", "PiiAccess")
    new = apps.get_model("leads", "PiiAccess")
    rows = (
        old.objects.using(db)
        .order_by("id")
        .values_list("user_id", "sale__lead_id", "as_owner", "channel", "correlation_id", "accessed_at")
    )
    batch = []
    for user_id, lead_id, role, channel, correlation_id, accessed_at in rows.iterator(chunk_size=2000):
        batch.append(
            new(
                user_id=user_id,
                lead_id=lead_id,
                role=role,
                channel=channel,
                correlation_id=correlation_id,
                accessed_at=accessed_at,
            )
        )
        if len(batch) == 2000:
            new.objects.using(db).bulk_create(batch)
            batch = []
    new.objects.using(db).bulk_create(batch)


def copy_back(apps, schema_editor):
    db = schema_editor.connection.alias
    old = apps.get_model("escrow", "PiiAccess")
    new = apps.get_model("leads", "PiiAccess")
    Sale = apps.get_model("auctions", "Sale")
    sale_of = dict(Sale.objects.using(db).values_list("lead_id", "pk"))
    old.objects.using(db).bulk_create(
        [
            old(
                user_id=row.user_id,
                sale_id=sale_of[row.lead_id],
                as_owner=row.role,
                channel=row.channel,
                correlation_id=row.correlation_id,
                accessed_at=row.accessed_at,
            )
            for row in new.objects.using(db).exclude(role="seller").order_by("id")
            if row.lead_id in sale_of
        ]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("escrow", "0005_release_retries"),
        ("leads", "0004_pii_access_log"),
        ("auctions", "0006_bounties"),
    ]

    operations = [
        migrations.RunPython(copy_to_leads, copy_back),
        migrations.DeleteModel(
            name="PiiAccess",
        ),
    ]
