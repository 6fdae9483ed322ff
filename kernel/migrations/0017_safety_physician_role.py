"""The sponsor's safety physician (ICH E2A III.C; SPEC §10): one more trial role, a group.

Its permissions are attached by kernel.services.roles_sync after migrate, as for every role.
"""

from django.db import migrations

GROUP = "safety_physician"


def create_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.get_or_create(name=GROUP)


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [("trialedc", "0016_refuse_truncate")]

    operations = [migrations.RunPython(create_group, remove_group)]
