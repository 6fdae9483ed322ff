"""Visit.participant loses its own index (issue 24, docs/performance.md "Randomization, fourth
step"): the unique index visit_once_each (participant_id, code) begins with the same column and
serves every lookup by participant (the schedule, the record status grid, the casebook, the
foreign key's checks); the single-column index was one more index written for each of the 12
visits of every randomization. The foreign key itself is unchanged (Django drops and re-adds it
around the index)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("outcomes", "0006_safety_assessed_time_help"),
        ("participants", "0003_screening_vital_signs"),
    ]

    operations = [
        migrations.AlterField(
            model_name="visit",
            name="participant",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="visits",
                to="participants.participant",
                verbose_name="participant",
            ),
        ),
    ]
