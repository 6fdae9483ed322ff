from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and sign-in security")

    def ready(self) -> None:
        from kernel import home

        from . import security

        security.connect()  # the security log (sign-ins, lock-outs, access changes)
        home.nav(
            label=_("Security log"),
            url_name="security_log",
            permission="trialedc.view_securityevent",
            order=82,
            group="data",
        )
