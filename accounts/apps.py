from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and sign-in security")

    def ready(self) -> None:
        from kernel import home
        from kernel.backends import sign_in_annotation

        from . import security, twofactor

        security.connect()  # the security log (sign-ins, lock-outs, access changes)
        # Whether the user has a second factor, read with the session's user on every request
        # (TwoFactorMiddleware) instead of by a query of its own (issue 24).
        sign_in_annotation("sign_in_second_factor", twofactor.has_authenticator)
        home.nav(
            label=_("Security log"),
            url_name="security_log",
            permission="trialedc.view_securityevent",
            order=82,
            group="data",
        )
