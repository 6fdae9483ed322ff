"""Sites and users: who works where. Every participant row belongs to one site."""

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


class Calendar(models.TextChoices):
    GREGORIAN = "gregorian", _("Gregorian (2021-03-05)")
    JALALI = "jalali", _("Solar Hijri / Jalali (1399/12/15)")


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
    default_calendar = models.CharField(
        _("default calendar"), max_length=10, choices=Calendar.choices, default=Calendar.GREGORIAN
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("site")
        verbose_name_plural = _("sites")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class User(AbstractUser):
    """A person who signs in. Belongs to zero or more sites; roles are Django groups."""

    sites = models.ManyToManyField(Site, related_name="users", blank=True, verbose_name=_("sites"))
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: the browser's language."),
    )
    calendar = models.CharField(
        _("calendar"),
        max_length=10,
        choices=Calendar.choices,
        blank=True,
        help_text=_("Empty: the calendar of your site."),
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [
            ("view_audit_trail", _("Can read the audit trail of records they can see")),
        ]

    def __str__(self) -> str:
        full = self.get_full_name()
        return f"{full} ({self.username})" if full else self.username
