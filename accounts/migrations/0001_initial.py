"""User and ApiKey move here from the marketplace app with their tables (marketplace_user,
marketplace_apikey and the user's group and permission tables): only Django's state changes.

state_only: a database migrated before this app existed already has everything this migration
describes, and Django's own migrations that depend on the user model (admin, and every app's
swappable dependency) are applied there; `manage.py migrate` records it as applied first
(core/management/commands/migrate.py).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import accounts.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("marketplace", "0004_pipeline_records_move_to_core"),
    ]

    state_only = True

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="User",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("password", models.CharField(max_length=128, verbose_name="password")),
                        ("last_login", models.DateTimeField(blank=True, null=True, verbose_name="last login")),
                        (
                            "is_superuser",
                            models.BooleanField(
                                default=False,
                                help_text="Designates that this user has all permissions without explicitly assigning them.",
                                verbose_name="superuser status",
                            ),
                        ),
                        ("email", models.EmailField(max_length=254, unique=True)),
                        ("full_name", models.CharField(blank=True, max_length=150)),
                        ("company_name", models.CharField(blank=True, max_length=200)),
                        (
                            "time_zone",
                            models.CharField(
                                default="UTC", max_length=64, validators=[accounts.models.validate_time_zone]
                            ),
                        ),
                        ("is_seller", models.BooleanField(default=False, help_text="May submit and sell leads.")),
                        ("is_buyer", models.BooleanField(default=False, help_text="May bid on and buy leads.")),
                        ("is_staff", models.BooleanField(default=False)),
                        ("is_active", models.BooleanField(default=True)),
                        ("date_joined", models.DateTimeField(default=django.utils.timezone.now)),
                        ("welcome_email_sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "groups",
                            models.ManyToManyField(
                                blank=True,
                                help_text="The groups this user belongs to. A user will get all permissions granted to each of their groups.",
                                related_name="user_set",
                                related_query_name="user",
                                to="auth.group",
                                verbose_name="groups",
                            ),
                        ),
                        (
                            "user_permissions",
                            models.ManyToManyField(
                                blank=True,
                                help_text="Specific permissions for this user.",
                                related_name="user_set",
                                related_query_name="user",
                                to="auth.permission",
                                verbose_name="user permissions",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "marketplace_user",
                    },
                    managers=[
                        ("objects", accounts.models.UserManager()),
                    ],
                ),
                migrations.CreateModel(
                    name="ApiKey",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("name", models.CharField(max_length=100)),
                        ("prefix", models.CharField(max_length=16, unique=True)),
                        ("hashed_key", models.CharField(max_length=64, unique=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("last_used_at", models.DateTimeField(blank=True, null=True)),
                        ("revoked_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="api_keys",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "API key",
                        "db_table": "marketplace_apikey",
                    },
                ),
                migrations.AddIndex(
                    model_name="user",
                    index=models.Index(fields=["date_joined", "id"], name="user_joined_id_idx"),
                ),
                migrations.AddIndex(
                    model_name="apikey",
                    index=models.Index(fields=["user", "created_at"], name="apikey_user_created_idx"),
                ),
            ],
        ),
    ]
