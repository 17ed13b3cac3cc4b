"""Users, API keys and the ledger now live in the accounts and ledger apps (accounts 0001, ledger
0001, with the same tables): the marketplace app forgets them, and their content types follow, so
staff permissions and admin history on them carry over."""

from django.db import migrations

MOVED = {
    "user": "accounts",
    "apikey": "accounts",
    "ledgeraccount": "ledger",
    "ledgertransaction": "ledger",
    "ledgerentry": "ledger",
}


def content_types_follow(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model, app_label in MOVED.items():
        if not ContentType.objects.using(db).filter(app_label=app_label, model=model).exists():
            ContentType.objects.using(db).filter(app_label="marketplace", model=model).update(app_label=app_label)


def content_types_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    db = schema_editor.connection.alias
    for model, app_label in MOVED.items():
        if not ContentType.objects.using(db).filter(app_label="marketplace", model=model).exists():
            ContentType.objects.using(db).filter(app_label=app_label, model=model).update(app_label="marketplace")


class Migration(migrations.Migration):
    dependencies = [
        ("marketplace", "0004_pipeline_records_move_to_core"),
        ("accounts", "0001_initial"),
        ("ledger", "0001_initial"),
        ("auctions", "0008_ledger_app"),
        ("escrow", "0009_ledger_app"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="ledgeraccount",
                    name="owner",
                ),
                migrations.RemoveField(
                    model_name="ledgerentry",
                    name="account",
                ),
                migrations.RemoveField(
                    model_name="ledgerentry",
                    name="transaction",
                ),
                migrations.RemoveField(
                    model_name="ledgertransaction",
                    name="created_by",
                ),
                migrations.RemoveField(
                    model_name="user",
                    name="groups",
                ),
                migrations.RemoveField(
                    model_name="user",
                    name="user_permissions",
                ),
                migrations.DeleteModel(
                    name="ApiKey",
                ),
                migrations.DeleteModel(
                    name="LedgerAccount",
                ),
                migrations.DeleteModel(
                    name="LedgerEntry",
                ),
                migrations.DeleteModel(
                    name="LedgerTransaction",
                ),
                migrations.DeleteModel(
                    name="User",
                ),
            ],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
    ]
