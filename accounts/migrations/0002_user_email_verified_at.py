from django.db import migrations, models
from django.db.models.functions import Now


def confirm_existing_accounts(apps, schema_editor):
    # Accounts from before confirmation existed keep their emails: an unconfirmed address gets no
    # notification emails, and these people were never asked to confirm. Their confirmation time
    # is this migration's, not a click.
    apps.get_model("accounts", "User").objects.filter(email_verified_at__isnull=True).update(email_verified_at=Now())


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="user",
            name="email_verified_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="email confirmed"),
        ),
        migrations.RunPython(confirm_existing_accounts, migrations.RunPython.noop, elidable=True),
    ]
