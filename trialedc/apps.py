from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProjectConfig(AppConfig):
    """The project package (settings, URLs, Celery, the home page, health, backups, the demo
    loader): an app only for its management commands. It owns no models. Its label is `project`
    because `trialedc` is the kernel's (decision 0019)."""

    name = "trialedc"
    label = "project"
    verbose_name = "Trial EDC project"

    def ready(self) -> None:
        from kernel import home

        from . import security

        security.connect()  # the security log (sign-ins, lock-outs, access changes)
        home.nav(
            label=_("Security log"),
            url_name="security_log",
            permission="trialedc.view_securityevent",
            order=82,
        )
