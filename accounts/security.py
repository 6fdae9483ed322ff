"""The security log's sources: sign-in signals, axes lock-outs and changes to users' access.

Thin receivers; each calls `services.security_event_record`. Unblinding and exports record their
events in their own services, in the same transaction as the act.
"""

from __future__ import annotations

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, pre_save

from kernel.models import SecurityEventKind, User
from kernel.services import security_event_record

from .selectors import username_logged
from .services import user_session_forget, user_session_seen

# The flags of an account whose change is a change of access.
ACCOUNT_FLAGS = ("is_active", "is_staff", "is_superuser")


def on_signed_in(sender, request, user, **kwargs):
    from django.utils import timezone

    from .middleware import SIGNED_IN_AT

    if request is not None and hasattr(request, "session"):
        # The absolute session limit counts from here (accounts.middleware).
        now = timezone.now()
        request.session[SIGNED_IN_AT] = now.isoformat()
        user_session_seen(request=request, user=user, signed_in_at=now)  # into the list of sessions
    security_event_record(kind=SecurityEventKind.SIGN_IN, request=request, user=user)


def on_signed_out(sender, request, user, **kwargs):
    if request is not None:
        user_session_forget(request=request)
    if user is not None:
        security_event_record(kind=SecurityEventKind.SIGN_OUT, request=request, user=user)


def on_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django masks the password in `credentials`; only the username is kept (hashed when it is
    # no account's: it may be a password typed into the wrong box).
    username = str(credentials.get("username", ""))
    security_event_record(
        kind=SecurityEventKind.SIGN_IN_FAILED,
        request=request,
        username=username_logged(username) or "?",
        user=User.objects.filter(username=username).first(),
    )


def on_locked_out(sender, request, username, ip_address, **kwargs):
    security_event_record(
        kind=SecurityEventKind.LOCKED_OUT,
        request=request,
        username=username_logged(username) or "?",
        user=User.objects.filter(username=username).first(),
    )


def _names(model, pk_set) -> list[str]:
    if not pk_set:
        return []
    field = "name" if model._meta.model_name in ("group", "permission") else "code"
    return sorted(str(v) for v in model.objects.filter(pk__in=pk_set).values_list(field, flat=True))


def on_access_changed(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Groups (roles), own permissions or sites of a user added, removed or cleared."""
    if action not in ("post_add", "post_remove", "pre_clear") or reverse:
        return
    if sender is User.sites.through:
        kind, what = SecurityEventKind.SITES_CHANGED, "sites"
    elif sender is User.groups.through:
        kind, what = SecurityEventKind.ROLES_CHANGED, "roles"
    else:
        kind, what = SecurityEventKind.ROLES_CHANGED, "permissions"
    if action == "pre_clear":
        related = {"sites": instance.sites, "roles": instance.groups}.get(
            what, instance.user_permissions
        )
        names = _names(model, set(related.values_list("pk", flat=True)))
        change = "removed"
    else:
        names = _names(model, pk_set)
        change = "added" if action == "post_add" else "removed"
    if names:
        security_event_record(kind=kind, user=instance, detail={what: names, "change": change})


def on_account_saved(sender, instance, raw=False, update_fields=None, **kwargs):
    if raw or instance.pk is None:
        return
    if update_fields is not None and not set(update_fields) & set(ACCOUNT_FLAGS):
        return  # e.g. last_login at each sign-in
    before = User.objects.filter(pk=instance.pk).values(*ACCOUNT_FLAGS).first()
    if before is None:
        return
    changed = {f: getattr(instance, f) for f in ACCOUNT_FLAGS if before[f] != getattr(instance, f)}
    if changed:
        security_event_record(kind=SecurityEventKind.ACCOUNT_CHANGED, user=instance, detail=changed)


def connect() -> None:
    user_logged_in.connect(on_signed_in, dispatch_uid="security_log_sign_in")
    user_logged_out.connect(on_signed_out, dispatch_uid="security_log_sign_out")
    user_login_failed.connect(on_sign_in_failed, dispatch_uid="security_log_sign_in_failed")
    user_locked_out.connect(on_locked_out, dispatch_uid="security_log_locked_out")
    for through in (User.groups.through, User.user_permissions.through, User.sites.through):
        m2m_changed.connect(
            on_access_changed, sender=through, dispatch_uid=f"security_log_{through}"
        )
    pre_save.connect(on_account_saved, sender=User, dispatch_uid="security_log_account")
