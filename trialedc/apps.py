from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class TrialEdcConfig(AppConfig):
    name = "trialedc"
    verbose_name = "Trial EDC"

    def ready(self) -> None:
        from . import audit, home, security, services

        audit.connect_reason_guard()
        security.connect()  # the security log (sign-ins, lock-outs, access changes)
        home.nav(
            label=_("Security log"),
            url_name="security_log",
            permission="trialedc.view_securityevent",
            order=82,
        )
        # After every migrate, give each role the permissions the apps' permissions.py list, so
        # that permissions created by apps migrated later are attached too.
        post_migrate.connect(services.roles_sync_on_migrate, dispatch_uid="trialedc_roles_sync")
