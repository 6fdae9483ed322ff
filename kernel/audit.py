"""The audit trail: who, when, old value, new value and why (21 CFR Part 11 §11.10(e)).

One mechanism: django-simple-history (docs/decisions/0002-audit-trail.md). This module adds
- `save_with_reason`: the only way services save an audited record;
- a guard that refuses, for every registered model, a change to a saved record without a reason,
  whatever code path made it (a forgotten service, a shell session, the admin);
- the registry of models whose history may be shown, each with the permission it needs and the
  path to its site, used by the history page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.apps import apps
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from simple_history.manager import HistoryDescriptor
from simple_history.signals import pre_create_historical_record

from .exceptions import ReasonForChangeRequired


@dataclass(frozen=True)
class AuditedModel:
    label: str  # "app_label.modelname"
    view_permission: str  # needed (with trialedc.view_audit_trail) to read the history
    site_path: str  # lookup from the record to its site, for site scoping

    @property
    def model(self) -> type[Model]:
        return apps.get_model(self.label)


_REGISTRY: dict[str, AuditedModel] = {}


def register(label: str, *, view_permission: str, site_path: str) -> None:
    """Declare a model as trial or identifying data: reasons required, history viewable."""
    _REGISTRY[label.lower()] = AuditedModel(label.lower(), view_permission, site_path)


def registered(label: str) -> AuditedModel | None:
    return _REGISTRY.get(label.lower())


def save_with_reason(obj: Model, *, user, reason: str = "") -> Model:
    """Save `obj`, recording `user` and, for a change to a saved record, `reason`."""
    reason = (reason or "").strip()
    if obj.pk is not None and not reason:
        raise ReasonForChangeRequired(_("Give a reason for this change."))
    attribute_change(obj, user=user, reason=reason or _("Initial entry"))
    obj.save()
    return obj


def delete_with_reason(obj: Model, *, user, reason: str) -> None:
    """Delete `obj`, recording `user` and `reason` in its history's deletion row."""
    attribute_change(obj, user=user, reason=reason)
    obj.delete()


def attribute_change(obj: Model, *, user, reason: str) -> None:
    """Who and why for the history row of the next save or delete of `obj` (simple-history
    reads these two instance attributes; it has no typed way to pass them)."""
    setattr(obj, "_history_user", user)  # noqa: B010 — dynamic attributes the library reads
    setattr(obj, "_change_reason", reason)  # noqa: B010


def _refuse_change_without_reason(sender, instance, history_instance, **kwargs) -> None:
    if instance._meta.label_lower not in _REGISTRY:
        return
    if (
        history_instance.history_type == "~"
        and not (history_instance.history_change_reason or "").strip()
    ):
        raise ReasonForChangeRequired(
            _("%(record)s was changed without a reason for change.")
            % {"record": instance._meta.verbose_name}
        )


class _HistoryDescriptorBuiltOnce(HistoryDescriptor):
    """simple-history's `Model.history`, its manager class built once per model.

    The library's descriptor builds `HistoryManager.from_queryset(HistoricalQuerySet)`, a new
    class copying the queryset's methods (inspect.getmembers), on every `.history`: about 1 ms,
    once per audited save, as the library's post_save reads the history model from it
    (issue 24). The same class, built once; a new manager of it per access, as before."""

    def __init__(self, descriptor: HistoryDescriptor) -> None:
        super().__init__(
            descriptor.model, manager=descriptor.manager_class, queryset=descriptor.queryset_class
        )
        self.built = self.manager_class.from_queryset(self.queryset_class)

    def __get__(self, instance, owner):
        return self.built(self.model, instance)


def build_history_managers_once() -> None:
    """Every model's `.history` descriptor (set by simple-history when the model class was
    prepared) replaced by one that builds its manager class once."""
    for model in apps.get_models():
        name = getattr(model._meta, "simple_history_manager_attribute", None)
        descriptor = model.__dict__.get(name) if name else None
        if type(descriptor) is HistoryDescriptor:
            setattr(model, name, _HistoryDescriptorBuiltOnce(descriptor))


def connect_reason_guard() -> None:
    pre_create_historical_record.connect(
        _refuse_change_without_reason, dispatch_uid="trialedc_reason_guard"
    )


@dataclass(frozen=True)
class FieldChange:
    field: str
    old: object
    new: object


@dataclass(frozen=True)
class AuditEntry:
    when: object
    who: object
    action: object  # lazy translation
    reason: str
    changes: list[FieldChange]


_ACTIONS = {
    "+": gettext_lazy("Created"),
    "~": gettext_lazy("Changed"),
    "-": gettext_lazy("Deleted"),
}


def _shown(field, value, related: dict | None = None) -> object:
    """A stored value as a person reads it: the related record, the choice's label, Yes/No.

    `related`: the related records already read for this page, {(model, pk): as shown}. A page
    of audit rows names the same few records (the visit, the participant, the user) in every
    row: each is read once per page, not once per row and field (issue 24: the audit log read
    thousands, one query each)."""
    if value is None or value == "":
        return None
    if field.is_relation and field.many_to_one:
        key = (field.related_model, value)
        if related is not None and key in related:
            return related[key]
        record = field.related_model._default_manager.filter(pk=value).first()
        shown = str(record) if record is not None else f"#{value}"
        if related is not None:
            related[key] = shown
        return shown
    if field.choices:
        return dict(field.flatchoices).get(value, value)
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    # The audit trail stays ISO 8601 Gregorian whatever calendar the reader uses.
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return value


def reason_shown(reason: str | None) -> str:
    """A reason for change as the reader reads it. The product's own reasons ("Initial entry",
    "Randomized") are stored in English, the source language, and shown translated; a reason a
    person typed is shown as typed (it is not in the catalogue)."""
    return _(reason) if reason else ""


def history_rows(obj: Model) -> QuerySet[Any]:
    """The audit rows of `obj`. simple-history adds the `history` manager to a model when the
    class is created, where a type checker cannot see it: these two accessors are typed."""
    return getattr(obj, "history").all()  # noqa: B009


def history_model(model: type[Model]) -> type[Model]:
    """The historical model (audit table) of an audited model."""
    return getattr(model, "history").model  # noqa: B009


def _users_of(records: list) -> dict:
    """The users of the history rows as `_shown` shows them ({(model, pk): str}): read with the
    rows, so a version's "entered by" is not read again (issue 24: one query a page)."""
    related: dict = {}
    for record in records:
        user = record.history_user
        if user is not None:
            related.setdefault((type(user), user.pk), str(user))
    return related


def history_of(obj: Model) -> list[AuditEntry]:
    """Every version of `obj`, newest first, with the field-level differences."""
    records = list(obj.history.select_related("history_user").order_by("history_date", "pk"))
    # Only the fields the history keeps (a model may exclude some, e.g. timestamps).
    kept = {f.name for f in obj.history.model._meta.fields}
    fields = {f.name: f for f in obj._meta.fields if f.name != "id" and f.name in kept}
    entries: list[AuditEntry] = []
    related = _users_of(records)  # the related records named, each read once (_shown)
    previous = None
    for record in records:
        if previous is None:
            changes = [
                FieldChange(
                    str(field.verbose_name),
                    None,
                    _shown(field, getattr(record, field.attname), related),
                )
                for field in fields.values()
                if getattr(record, field.attname) not in (None, "")
            ]
        else:
            # Every kept field, computed ones too (P/F, Murray points): simple-history's
            # diff_against reads fields through model_to_dict, which skips fields that are not
            # editable, so a recomputed value was stored but not shown (issue 20).
            changes = [
                FieldChange(
                    str(field.verbose_name),
                    _shown(field, getattr(previous, field.attname), related),
                    _shown(field, getattr(record, field.attname), related),
                )
                for field in fields.values()
                if getattr(previous, field.attname) != getattr(record, field.attname)
                # A save's own time is the entry's time, not a change of the record.
                and not getattr(field, "auto_now", False)
            ]
        entries.append(
            AuditEntry(
                when=record.history_date,
                who=record.history_user,
                action=_ACTIONS[record.history_type],
                reason=reason_shown(record.history_change_reason),
                changes=changes,
            )
        )
        previous = record
    entries.reverse()
    return entries
