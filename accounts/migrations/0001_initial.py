"""The accounts app takes over three models made under the kernel's label `trialedc`
(decision 0019): the tables keep their names (db_table), only Django's state and the content
types move. On a new database the tables were made by trialedc.0006, 0007 and 0009."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

MOVED = ["backupcodes", "ratelimitcount", "usersession"]


def content_types_to_accounts(apps, schema_editor):
    """Existing content types (and so the permissions that hang on them) follow the models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="trialedc", model__in=MOVED).update(app_label="accounts")


def content_types_to_kernel(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="accounts", model__in=MOVED).update(app_label="trialedc")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("trialedc", "0013_sign_in_security_to_accounts"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="RateLimitCount",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("key", models.CharField(max_length=400, unique=True, verbose_name="counter")),
                        ("count", models.PositiveIntegerField(default=0, verbose_name="requests")),
                        ("expires_at", models.DateTimeField(db_index=True, verbose_name="window ends")),
                    ],
                    options={
                        "verbose_name": "rate-limit count",
                        "verbose_name_plural": "rate-limit counts",
                        "db_table": "trialedc_ratelimitcount",
                        "default_permissions": (),
                    },
                ),
                migrations.CreateModel(
                    name="BackupCodes",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "name",
                            models.CharField(
                                help_text="The human-readable name of this device.", max_length=64
                            ),
                        ),
                        (
                            "confirmed",
                            models.BooleanField(default=True, help_text="Is this device ready for use?"),
                        ),
                        (
                            "throttling_failure_timestamp",
                            models.DateTimeField(
                                blank=True,
                                default=None,
                                help_text="A timestamp of the last failed verification attempt. Null if last attempt succeeded.",
                                null=True,
                            ),
                        ),
                        (
                            "throttling_failure_count",
                            models.PositiveIntegerField(
                                default=0, help_text="Number of successive failed attempts."
                            ),
                        ),
                        (
                            "created_at",
                            models.DateTimeField(
                                auto_now_add=True,
                                help_text="The date and time when this device was initially created in the system.",
                                null=True,
                            ),
                        ),
                        (
                            "last_used_at",
                            models.DateTimeField(
                                blank=True,
                                help_text="The most recent date and time this device was used.",
                                null=True,
                            ),
                        ),
                        ("salt", models.CharField(default="", editable=False, max_length=32)),
                        ("digests", models.JSONField(default=list, editable=False)),
                        (
                            "user",
                            models.ForeignKey(
                                help_text="The user that this device belongs to.",
                                on_delete=django.db.models.deletion.CASCADE,
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "backup codes",
                        "verbose_name_plural": "backup codes",
                        "db_table": "trialedc_backupcodes",
                        "abstract": False,
                    },
                ),
                migrations.CreateModel(
                    name="UserSession",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "session_key",
                            models.CharField(
                                editable=False, max_length=40, unique=True, verbose_name="session key"
                            ),
                        ),
                        (
                            "signed_in_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="signed in at"
                            ),
                        ),
                        (
                            "last_seen_at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, verbose_name="last used at"
                            ),
                        ),
                        (
                            "ip_address",
                            models.GenericIPAddressField(blank=True, null=True, verbose_name="IP address"),
                        ),
                        ("user_agent", models.CharField(blank=True, max_length=300, verbose_name="browser")),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                                verbose_name="user",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "signed-in session",
                        "verbose_name_plural": "signed-in sessions",
                        "db_table": "trialedc_usersession",
                        "ordering": ["-last_seen_at"],
                        "default_permissions": (),
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_types_to_accounts, content_types_to_kernel),
    ]
