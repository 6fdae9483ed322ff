"""Backup codes, signed-in sessions and rate-limit counts move to the accounts app (decision 0019).

State only: the tables stay as they are (the accounts models name them with db_table), and
accounts.0001_initial takes over the models and their content types.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("trialedc", "0012_heartbeat_schedule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name="BackupCodes"),
                migrations.DeleteModel(name="RateLimitCount"),
                migrations.DeleteModel(name="UserSession"),
            ],
            database_operations=[],
        ),
    ]
