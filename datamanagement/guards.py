"""Backstops that hold whatever code path writes: locks and the append-only audit trail.

- `refuse_change_to_locked_data`: before any audited model (kernel.audit registry) is saved
  or deleted (pre_save / pre_delete), a record under an active CRF, participant or database
  lock is refused, for every user including superusers, from a view, the admin or a shell.
  The services check first (datamanagement.services.assert_editable) with a clearer message;
  a service that did so for the same record, in the same transaction and with the visit row
  locked, may mark that one save as checked (`_lock_checked`), which the guard consumes.
- `install_history_triggers`: after every `migrate`, each simple-history table gets a trigger
  that refuses UPDATE and DELETE, so the application's database user cannot rewrite or remove
  an audit row (docs/datamanagement.md, "Audit trail immutability"), and a statement trigger
  that refuses TRUNCATE (its function is the kernel's migration 0016: issue 20).
"""

from __future__ import annotations

from django.apps import apps as global_apps
from django.db import connections
from django.utils.translation import gettext as _
from simple_history.models import HistoricalChanges

from kernel import audit

from .exceptions import RecordLocked


def lock_target_of(instance) -> tuple[int | None, int | None, str]:
    """(participant id, visit id, CRF code) of an audited record, as far as they apply."""
    label = instance._meta.label_lower
    if label == "participants.participant":
        return instance.pk, None, ""
    crf_code = getattr(type(instance), "crf_code", "") or ""
    visit_id = getattr(instance, "visit_id", None) if crf_code else None
    if label == "outcomes.visit":
        return instance.participant_id, instance.pk, ""
    participant_id = getattr(instance, "participant_id", None)
    if participant_id is None and visit_id is not None:
        participant_id = instance.visit.participant_id
    if participant_id is None and crf_code and getattr(instance, "screening_id", None):
        # A casebook record of no visit (the vital signs at screening): its participant, once
        # the screening was enrolled.
        from participants.models import Participant

        participant_id = (
            Participant.objects.filter(screening_id=instance.screening_id)
            .values_list("pk", flat=True)
            .first()
        )
    return participant_id, visit_id, crf_code


def refuse_change_to_locked_data(sender, instance, **kwargs) -> None:
    if audit.registered(instance._meta.label_lower) is None:
        return
    from .selectors import lock_covering

    participant_id, visit_id, crf_code = lock_target_of(instance)
    # A service that checked this very target in the current transaction, holding the visit row
    # locked (outcomes.services.crf_save), marks the record for this one save: no second read.
    if instance.__dict__.pop("_lock_checked", None) == (participant_id, visit_id, crf_code):
        return
    lock = lock_covering(participant_id=participant_id, visit_id=visit_id, crf_code=crf_code)
    if lock is not None:
        raise RecordLocked(
            _("%(record)s is locked (%(lock)s); it cannot be changed.")
            % {"record": instance._meta.verbose_name, "lock": lock.get_level_display()}
        )


_FUNCTION = """
CREATE OR REPLACE FUNCTION trialedc_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail rows cannot be changed or deleted (% on %)', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql
"""


def history_tables() -> list[str]:
    return sorted(
        model._meta.db_table
        for model in global_apps.get_models()
        if issubclass(model, HistoricalChanges)
    )


def install_history_triggers(sender, using="default", **kwargs) -> None:
    # post_migrate fires once per app; one pass after the last app is enough.
    if sender.name != "datamanagement":
        return
    connection = connections[using]
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(_FUNCTION)
        for table in history_tables():
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"DROP TRIGGER IF EXISTS audit_append_only ON {quoted}")
            cursor.execute(
                f"CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON {quoted} "  # noqa: S608
                "FOR EACH ROW EXECUTE FUNCTION trialedc_audit_append_only()"
            )
            cursor.execute(f"DROP TRIGGER IF EXISTS audit_refuse_truncate ON {quoted}")
            cursor.execute(
                f"CREATE TRIGGER audit_refuse_truncate BEFORE TRUNCATE ON {quoted} "  # noqa: S608
                "FOR EACH STATEMENT EXECUTE FUNCTION trialedc_refuse_truncate()"
            )
