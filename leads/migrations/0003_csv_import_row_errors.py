# A CSV import's refused rows move from a JSON list on the import (rewritten whole for every
# chunk) to rows of their own.

import django.db.models.deletion
from django.db import migrations, models


def copy_errors(apps, schema_editor):
    db = schema_editor.connection.alias
    CsvImport = apps.get_model("leads", "CsvImport")
    CsvImportRowError = apps.get_model("leads", "CsvImportRowError")
    for csv_import in CsvImport.objects.using(db).exclude(errors=[]).only("pk", "errors").iterator():
        CsvImportRowError.objects.using(db).bulk_create(
            CsvImportRowError(
                csv_import_id=csv_import.pk,
                row=int(e.get("row") or 0),
                column=str(e.get("column", ""))[:200],
                field=str(e.get("field", ""))[:200],
                message=str(e.get("message", ""))[:500],
            )
            for e in csv_import.errors or []
        )


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0002_lead_search_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="CsvImportRowError",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("row", models.PositiveIntegerField()),
                ("column", models.CharField(blank=True, max_length=200)),
                ("field", models.CharField(blank=True, max_length=200)),
                ("message", models.CharField(max_length=500)),
                (
                    "csv_import",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="row_errors", to="leads.csvimport"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["csv_import", "row", "id"], name="csvimporterror_report_idx")],
            },
        ),
        migrations.RunPython(copy_errors, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="csvimport",
            name="errors",
        ),
    ]
