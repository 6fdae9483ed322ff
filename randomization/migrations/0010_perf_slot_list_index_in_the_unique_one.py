"""Slot.randomization_list loses its own index (issue 24, docs/performance.md "Randomization,
seventh step"): the unique index one_slot_per_sequence (randomization_list_id, sequence) begins
with the same column and serves every lookup by list. With both, the planner chose the
single-column one for the assignment's `WHERE randomization_list_id = … AND sequence = …
FOR UPDATE` (in randomization_assign, under the counters' lock) and read the list's slots one by
one, keeping those of the sequence: one more row read for each slot already given. The foreign
key itself is unchanged (Django drops and re-adds it around the index)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("randomization", "0009_perf_assign_checks_in_one_query")]

    operations = [
        migrations.AlterField(
            model_name="slot",
            name="randomization_list",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="slots",
                to="randomization.randomizationlist",
            ),
        ),
    ]
