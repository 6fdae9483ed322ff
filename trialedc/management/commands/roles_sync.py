"""`manage.py roles_sync`: write each role's permissions, from the apps' permissions.py, to its
group. The one way a role's permissions change (kernel.role_guard refuses every other): edit
permissions.py, have it reviewed, deploy, then `migrate` (which runs this) or this command."""

from django.core.management.base import BaseCommand

from kernel.roles import Role
from kernel.services import roles_sync


class Command(BaseCommand):
    help = "Give each trial role group exactly the permissions the apps' permissions.py list."

    def handle(self, *args, **options):
        from django.contrib.auth.models import Group

        roles_sync()
        for role in Role:
            count = Group.objects.get(name=role.value).permissions.count()
            self.stdout.write(f"{role.value}: {count} permissions")
