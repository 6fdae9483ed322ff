from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KernelConfig(AppConfig):
    """The kernel keeps the app label `trialedc`: its models (the user model among them) were
    created under that label, and Django cannot move AUTH_USER_MODEL to another app (Django
    ticket #25313; decision 0019). So `trialedc.User`, `trialedc.view_audit_trail` and the
    migrations `trialedc.0001`... are this package's."""

    name = "kernel"
    label = "trialedc"
    verbose_name = "Trial EDC"

    def ready(self) -> None:
        from django.utils.translation import gettext

        from . import audit, role_guard, services, trial

        # The trial configuration and the pure rule modules import no Django: they translate
        # through the translator installed here.
        trial.translator_install(gettext)

        audit.connect_reason_guard()
        audit.build_history_managers_once()
        role_guard.connect()
        # After every migrate, give each role the permissions the apps' permissions.py list, so
        # that permissions created by apps migrated later are attached too.
        post_migrate.connect(services.roles_sync_on_migrate, dispatch_uid="trialedc_roles_sync")
        # A worker's task starts having written nothing (kernel.replica, docs/scaling.md).
        from celery.signals import task_prerun

        from . import replica

        task_prerun.connect(replica.forget_writes_before_task, dispatch_uid="trialedc_replica")
