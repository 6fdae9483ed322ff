from django.apps import AppConfig
from django.db.models.signals import post_migrate


class TrialEdcConfig(AppConfig):
    name = "trialedc"
    verbose_name = "Trial EDC"

    def ready(self) -> None:
        from . import audit, services

        audit.connect_reason_guard()
        # After every migrate, give each role the permissions the apps' permissions.py list, so
        # that permissions created by apps migrated later are attached too.
        post_migrate.connect(services.roles_sync_on_migrate, dispatch_uid="trialedc_roles_sync")
