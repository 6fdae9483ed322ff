"""Create one Django group per trial role (SPEC §1).

Permissions are attached by kernel.services.roles_sync after every migrate, because on a
fresh database the permissions themselves are only created at the end of `migrate`.
"""

from django.db import migrations

ROLE_GROUPS = [
    "site_coordinator",
    "investigator",
    "unblinded_pharmacist",
    "monitor",
    "data_manager",
    "unblinded_statistician",
    "sponsor",
]


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in ROLE_GROUPS:
        Group.objects.get_or_create(name=name)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLE_GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("trialedc", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
