"""DeadLetter and IdempotencyKey move here from the marketplace app with their tables: only
Django's state changes (the tables keep their names, rows and indexes). Their content types
follow, so staff permissions on them carry over."""

import django.utils.timezone
from django.db import migrations, models


def content_types_follow(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("deadletter", "idempotencykey"):
        if not ContentType.objects.using(db).filter(app_label="core", model=model).exists():
            ContentType.objects.using(db).filter(app_label="marketplace", model=model).update(app_label="core")


def content_types_back(apps, schema_editor):
    db = schema_editor.connection.alias
    ContentType = apps.get_model("contenttypes", "ContentType")
    for model in ("deadletter", "idempotencykey"):
        if not ContentType.objects.using(db).filter(app_label="marketplace", model=model).exists():
            ContentType.objects.using(db).filter(app_label="core", model=model).update(app_label="marketplace")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("marketplace", "0003_vault_exits"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="DeadLetter",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("task_name", models.CharField(max_length=200)),
                        ("task_id", models.CharField(db_index=True, max_length=64)),
                        ("queue", models.CharField(max_length=100)),
                        ("args", models.JSONField(blank=True, default=list)),
                        ("kwargs", models.JSONField(blank=True, default=dict)),
                        ("exception_type", models.CharField(max_length=200)),
                        ("error", models.TextField()),
                        ("traceback", models.TextField(blank=True)),
                        ("attempts", models.PositiveIntegerField(default=1)),
                        ("correlation_id", models.CharField(blank=True, max_length=128)),
                        (
                            "status",
                            models.CharField(
                                choices=[("pending", "Pending"), ("replayed", "Replayed"), ("discarded", "Discarded")],
                                default="pending",
                                max_length=16,
                            ),
                        ),
                        ("first_failed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_failed_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("resolved_at", models.DateTimeField(blank=True, null=True)),
                        ("replayed_task_id", models.CharField(blank=True, max_length=64)),
                    ],
                    options={
                        "db_table": "marketplace_deadletter",
                        "ordering": ["-last_failed_at"],
                        "indexes": [
                            models.Index(fields=["status", "last_failed_at"], name="deadletter_status_idx"),
                            models.Index(fields=["task_name", "status"], name="deadletter_task_status_idx"),
                        ],
                    },
                ),
                migrations.CreateModel(
                    name="IdempotencyKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("scope", models.CharField(max_length=64)),
                        ("key", models.CharField(max_length=200)),
                        ("result", models.JSONField(blank=True, default=dict)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                    ],
                    options={
                        "db_table": "marketplace_idempotencykey",
                        "constraints": [
                            models.UniqueConstraint(fields=("scope", "key"), name="idempotency_scope_key_uniq")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_follow, content_types_back),
    ]
