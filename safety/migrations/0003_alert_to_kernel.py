"""The alert outbox moves to the kernel (decision 0019): state only, the table safety_alert stays
and kernel's trialedc.0014_alert takes the model over, with its content type."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("safety", "0002_periodic_tasks"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="Alert")],
            database_operations=[],
        ),
    ]
