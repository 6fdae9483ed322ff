"""The alert outbox, made by the safety app, becomes the kernel's (decision 0019).

State only: the table keeps its name, safety_alert (db_table), with its rows, constraints and
index. The content type moves from safety.alert to trialedc.alert, so the permission to read the
outbox (now trialedc.view_alert) is the same row and keeps its groups.
"""

import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


def content_type_to_kernel(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="safety", model="alert").update(app_label="trialedc")


def content_type_to_safety(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.filter(app_label="trialedc", model="alert").update(app_label="safety")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("participants", "0001_initial"),
        ("safety", "0003_alert_to_kernel"),
        ("trialedc", "0013_sign_in_security_to_accounts"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Alert",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("kind", models.CharField(max_length=40, verbose_name="kind")),
                        ("subject", models.CharField(max_length=250, verbose_name="subject")),
                        ("body", models.TextField(verbose_name="body")),
                        ("recipients", models.JSONField(default=list, verbose_name="recipients")),
                        ("dedupe_key", models.CharField(blank=True, max_length=120, null=True, unique=True)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="created at")),
                        ("attempts", models.PositiveIntegerField(default=0, verbose_name="attempts")),
                        ("last_attempt_at", models.DateTimeField(blank=True, null=True, verbose_name="last attempt at")),
                        ("last_error", models.TextField(blank=True, verbose_name="last error")),
                        ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="next attempt at")),
                        ("sent_at", models.DateTimeField(blank=True, null=True, verbose_name="sent at")),
                        ("adverse_event", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="alerts", to="safety.adverseevent", verbose_name="adverse event")),
                        ("participant", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="participants.participant", verbose_name="participant")),
                    ],
                    options={
                        "verbose_name": "alert",
                        "verbose_name_plural": "alerts",
                        "db_table": "safety_alert",
                        "ordering": ["-created_at", "-pk"],
                        "indexes": [
                            models.Index(
                                condition=models.Q(("sent_at__isnull", True)),
                                fields=["next_attempt_at"],
                                name="alert_pending_by_next_attempt",
                            )
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(content_type_to_kernel, content_type_to_safety),
    ]
