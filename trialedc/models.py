"""Sites and users: who works where. Every participant row belongs to one site."""

from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Site(models.Model):
    """A recruiting centre. Rows mirror `TRIAL.sites` (services.sites_sync)."""

    code = models.CharField(
        _("site code"),
        max_length=2,
        unique=True,
        validators=[RegexValidator(r"^\d{2}$", _("A site code is two digits, e.g. 01."))],
    )
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class User(AbstractUser):
    """A person who signs in. Belongs to zero or more sites; roles are Django groups."""

    sites = models.ManyToManyField(Site, related_name="users", blank=True, verbose_name=_("sites"))

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_audit_trail", _("Can read the audit trail of records they can see")),
        ]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username
