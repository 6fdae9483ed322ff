"""Optimistic concurrency: a save never overwrites a change its author did not see (issue 26).

The version of a record is the id of its newest audit row (django-simple-history): every save
writes one, and audit rows are append-only (datamanagement.guards), so a version names one state
of the record for ever, with who saved it, when and why.

1. A page that edits a record, or acts on what it shows (an e-signature, an SDV mark, a
   confirmation, a query step), carries the versions it showed in a signed hidden field
   (`token`, rendered by templates/_edit_version.html): bound to the user and to the records, it
   cannot be forged to claim a version its user was not shown.
2. The service locks the record's row (`select_for_update`) and, in the same transaction, calls
   `refuse_stale_edit` (a form of values) or `refuse_changed_since` (an action on what was
   shown). A version that is no longer the newest is refused with `EditConflict`, whatever the
   caller — a page, a script, an import: the rule is in the service, not in the form.
3. The view shows the form again with every value typed and the conflict panel: per field, the
   value when the form was opened, the other person's (who, when, reason) and the user's, and a
   choice; the user saves again, with their reason, on the version they have now seen.

The merge rule (docs/datamanagement.md, "Two people editing the same record"), for a form of
values whose version is stale — a three-way comparison of the value when the form was opened,
the value saved since and the value typed, field by field:
- a field only the other person changed keeps their value; a field only this user changed takes
  theirs; a field both changed to the same value is no conflict;
- the save is refused (EditConflict) when a field was changed by both, differently, or when
  this user changed a field that is checked together with one the other person changed
  (`linked`: a derived value or an edit check reads both, e.g. P/F from PaO₂ and FiO₂);
  the panel then lists every field the other person changed and every such linked field, and
  the user chooses for each;
- otherwise the save goes through with only this user's changes, on top of the other's (a
  field of the record the form does not write, e.g. the causality signature of an AE being
  corrected, keeps the other person's value too).
A form that does not say which version it was opened on (no token, or an altered one) is
refused, and every field whose value differs from the record is asked.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import Model, OuterRef, QuerySet, Subquery
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from simple_history.utils import get_app_model_primary_key_name

from . import calendars
from .audit import reason_shown
from .exceptions import EditConflict
from .prepared import PreparedRows

FIELD = "edit_version"  # the hidden field's name (with the form's prefix)
UNKNOWN = -1  # the version of a form that did not say, or could not prove, what it showed
READ_HERE = object()  # refuse_stale_edit's default: the record's version read by it
_SALT = "kernel.concurrency.edit-version"
_ANNOTATION = "edit_version_shown"


# -- versions --------------------------------------------------------------------------------


def version_of(record: Model | None) -> int | None:
    """The record's version now: the id of its newest audit row (None: not saved yet). Read
    from the database every time: services call it with the record's row locked."""
    if record is None or record.pk is None:
        return None
    rows = _NEWEST_AUDIT_ROW.rows(type(record), record.pk)
    return rows[0][0] if rows else None


def _newest_audit_row(model: type[Model], pk) -> QuerySet:
    """`record.history.order_by("-history_id").values_list("history_id")[:1]`, as a
    queryset of the model's history table (simple_history's manager filters it so)."""
    history = model.history.model
    key = get_app_model_primary_key_name(model)
    return history.objects.filter(**{key: pk}).order_by("-history_id").values_list("history_id")[:1]


# Compiled once per model (issue 24): every save of a versioned record reads it.
_NEWEST_AUDIT_ROW = PreparedRows(Model, _newest_audit_row, ("int",))


def versions_of(records: Iterable[Model]) -> dict[tuple[str, int | None], int | None]:
    """(label, pk) -> version now, of each record: what a person is shown (e.g. before signing
    them all)."""
    return {(label_of(r), r.pk): version_of(r) for r in records}


def with_versions(queryset: QuerySet) -> QuerySet:
    """`queryset` with each row's version read in the same query (for pages showing a form)."""
    history = queryset.model.history.model
    newest = history.objects.filter(id=OuterRef("pk")).order_by("-history_id")
    return queryset.annotate(**{_ANNOTATION: Subquery(newest.values("history_id")[:1])})


def shown_version(record: Model | None) -> int | None:
    """The version a page shows: read with the record (`with_versions`) or now."""
    if record is not None and _ANNOTATION in record.__dict__:
        return record.__dict__[_ANNOTATION]
    return version_of(record)


def label_of(record: Model) -> str:
    return record._meta.label_lower


# -- the token a form carries ----------------------------------------------------------------


@dataclass(frozen=True)
class Opened:
    """What a form was opened on, read from its token: per record (label, pk), the version its
    values came from (`versions`) and, after a conflict, the version the user first opened
    (`first`) and the fields they must choose for (`ask`)."""

    versions: Mapping[tuple[str, int | None], int | None] = field(default_factory=dict)
    first: Mapping[tuple[str, int | None], int | None] = field(default_factory=dict)
    ask: tuple[str, ...] = ()
    valid: bool = True

    def version(self, record: Model) -> int | None:
        """The version of `record` the form showed; None if it did not exist yet; UNKNOWN if
        the token is missing, altered, someone else's, or about another record."""
        key = (label_of(record), record.pk)
        if key in self.versions:
            return self.versions[key]
        if (label_of(record), None) in self.versions:
            return None  # opened before anyone had entered it
        return UNKNOWN

    def first_version(self, record: Model) -> int | None:
        key = (label_of(record), record.pk)
        return self.first.get(key, self.version(record))


def token(
    *,
    user,
    records: Iterable[Model | tuple[str, int | None, int | None]],
    ask: Iterable[str] = (),
    first: Mapping[tuple[str, int | None], int | None] | None = None,
) -> str:
    """The signed versions of `records` as `user` is shown them now (or as given)."""
    entries = []
    for record in records:
        if isinstance(record, Model):
            label, pk, version = label_of(record), record.pk, shown_version(record)
        else:
            label, pk, version = record
        first_version = (first or {}).get((label, pk), version)
        entries.append([label, pk, version, first_version])
    payload = {"u": user.pk, "r": entries, "a": list(ask)}
    return signing.dumps(payload, salt=_SALT, compress=True)


def opened_from(value: str | None, *, user) -> Opened:
    """What a posted token says; an invalid Opened (every version UNKNOWN) if it is missing,
    altered, or was issued to another user."""
    try:
        payload = signing.loads(value or "", salt=_SALT)
        if payload["u"] != user.pk:
            raise signing.BadSignature("issued to another user")
        versions = {(label, pk): version for label, pk, version, _first in payload["r"]}
        first = {(label, pk): first for label, pk, _version, first in payload["r"]}
        return Opened(versions=versions, first=first, ask=tuple(payload["a"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return Opened(valid=False)


# -- values ----------------------------------------------------------------------------------


def _model_field(model: type[Model], name: str):
    return model._meta.get_field(name)


def _plain(model_field, value: Any) -> Any:
    """A value as it is compared: a related record by its key, empty text as None."""
    if isinstance(value, Model):
        value = value.pk
    if value is None or value == "":
        return None
    python = model_field.target_field if model_field.is_relation else model_field
    try:
        return python.to_python(value)
    except ValidationError:
        return value


def same(model_field, a: Any, b: Any) -> bool:
    return _plain(model_field, a) == _plain(model_field, b)


def _current(record: Model, names: Iterable[str]) -> dict[str, Any]:
    return {name: getattr(record, _model_field(type(record), name).attname) for name in names}


def values_at(record: Model, version: int | None, names: Iterable[str]) -> dict[str, Any]:
    """The values of `names` in version `version` of the record (the model's defaults for None:
    the record did not exist yet)."""
    model = type(record)
    fields = {name: _model_field(model, name) for name in names}
    if version is None:
        return {name: f.get_default() for name, f in fields.items()}
    row = record.history.model.objects.filter(history_id=version, id=record.pk).first()
    if row is None:  # not a version of this record: treated as unknown by the callers
        return {name: object() for name in fields}
    return {name: getattr(row, f.attname, None) for name, f in fields.items()}


def for_form(record: Model, name: str, value: Any) -> Any:
    """A stored value as a form's cleaned data holds it (a related record, not its key)."""
    model_field = _model_field(type(record), name)
    if model_field.is_relation and value is not None and not isinstance(value, Model):
        return model_field.related_model._default_manager.filter(pk=value).first()
    return value


def shown(model_field, value: Any) -> str:
    """A value as the person reads it: the choice's label, Yes/No, the date in their calendar."""
    if isinstance(value, Model):
        return str(value)
    if value is None or value == "":
        return "—"
    if model_field.is_relation:
        related = model_field.related_model._default_manager.filter(pk=value).first()
        return str(related) if related is not None else f"#{value}"
    if model_field.choices:
        return str(dict(model_field.flatchoices).get(value, value))
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, datetime):
        return shown_moment(value)
    if isinstance(value, date):
        return calendars.shown(value)
    return str(value)


def shown_moment(value: datetime) -> str:
    """A date and time in the reader's calendar and the active time zone."""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    return f"{calendars.shown(local.date())} {calendars.digits_for_page(f'{local:%H:%M}')}"


def changed_values(record: Model, values: Mapping[str, Any]) -> dict[str, Any]:
    """Those of `values` that differ from the record as it is."""
    model = type(record)
    current = _current(record, values)
    return {
        name: value
        for name, value in values.items()
        if not same(_model_field(model, name), value, current[name])
    }


# -- what changed, who changed it --------------------------------------------------------------


@dataclass(frozen=True)
class Edit:
    """One save by someone else: who, when and the reason they gave."""

    who: str
    when: datetime
    reason: str


@dataclass(frozen=True)
class FieldConflict:
    """One row of the conflict panel."""

    name: str
    label: str
    opened: str | None  # as shown when the form was opened; None: unknown
    current: str  # as saved since
    typed: str | None  # what this user typed; None for an action (nothing typed)
    edit: Edit | None  # the save that set the current value
    changed_by_other: bool = True
    linked_to: tuple[str, ...] = ()  # labels of the changed fields it is checked with
    record: str = ""  # the record the field belongs to, when a page shows several


def _edit_of(row) -> Edit:
    user = row.history_user
    who = (user.get_full_name() or user.get_username()) if user is not None else _("the system")
    return Edit(who=who, when=row.history_date, reason=reason_shown(row.history_change_reason))


def _history_since(record: Model, version: int | None, until: int | None = None):
    rows = record.history.select_related("history_user").order_by("history_id")
    if version not in (None, UNKNOWN):
        rows = rows.filter(history_id__gt=version)
    if until is not None:
        rows = rows.filter(history_id__lte=until)
    return list(rows)


def _last_edits(
    record: Model, since: int | None, names, baseline, until: int | None = None
) -> tuple[dict, list[Edit]]:
    """Per field, the last save after `since` that changed it (compared with `baseline`, the
    values at `since`; None: from the record's first version on), and every save after `since`."""
    model = type(record)
    fields = {name: _model_field(model, name) for name in names}
    previous = dict(baseline) if baseline is not None else None
    last: dict[str, Edit] = {}
    edits: list[Edit] = []
    for row in _history_since(record, since, until):
        edit = _edit_of(row)
        edits.append(edit)
        values = {name: getattr(row, f.attname, None) for name, f in fields.items()}
        for name, f in fields.items():
            if previous is None or not same(f, values[name], previous[name]):
                last[name] = edit
        previous = values
    return last, edits


def _tracked_names(model: type[Model]) -> list[str]:
    """The fields a person can see change: those the audit trail keeps, without the key and
    the automatic timestamps."""
    kept = {f.name for f in model.history.model._meta.fields}
    return [
        f.name
        for f in model._meta.concrete_fields
        if f.name in kept
        and not f.primary_key
        and not getattr(f, "auto_now", False)
        and not getattr(f, "auto_now_add", False)
    ]


def _message(record: Model, edits: list[Edit], *, opened_version) -> str:
    what = str(record._meta.verbose_name)
    if opened_version == UNKNOWN:
        return _(
            "This form does not say which version of the %(record)s it was opened on (an old "
            "page, or an altered one), so nothing was saved. The fields below differ from the "
            "record as it is now: choose for each which value to keep, and save again."
        ) % {"record": what}
    people = sorted({e.who for e in edits}) or [_("someone")]
    last = max((e.when for e in edits), default=None)
    return _(
        "%(who)s saved this %(record)s after you opened it (last at %(when)s). Nothing was "
        "saved: your values are kept below. For each field listed, choose which value to keep, "
        "then save again with your reason."
    ) % {
        "who": ", ".join(people),
        "record": what,
        "when": shown_moment(last) if last else "—",
    }


# -- the checks services make ----------------------------------------------------------------


def refuse_stale_edit(
    *,
    record: Model,
    opened_version: int | None,
    values: Mapping[str, Any],
    linked: Iterable[Iterable[str]] = (),
    followers: Mapping[str, Iterable[str]] | None = None,
    current_version: int | None | object = READ_HERE,
) -> dict[str, Any]:
    """The values a form may write on `record`, whose row the caller has locked.

    `values` are every field the form writes, as typed; `opened_version` the version the form
    showed (None: the record did not exist; UNKNOWN: not said). `linked` are groups of fields a
    derived value or an edit check reads together; `followers` fields written with, and only
    with, another (a CRP value's unit as entered follows the value). Returns `values` when the
    version is current, this user's changes alone when the other person's merge safely; raises
    EditConflict otherwise (the module docstring states the rule). `current_version`: the
    record's version as `version_of` gives it, read by the caller under the same row lock
    (e.g. in the same round trip as the locking read, issue 24); read here by default."""
    model = type(record)
    followers = {leader: tuple(names) for leader, names in (followers or {}).items()}
    following = {name for names in followers.values() for name in names}
    compared = [name for name in values if name not in following]
    fields = {name: _model_field(model, name) for name in compared}
    if current_version is READ_HERE:
        current_version = version_of(record)
    if opened_version != UNKNOWN and opened_version == current_version:
        return dict(values)
    current = _current(record, compared)
    if opened_version == UNKNOWN:
        opened = None
        asked = [n for n in compared if not same(fields[n], values[n], current[n])]
        linked_rows: dict[str, list[str]] = {}
        mine: list[str] = []
    else:
        opened = values_at(record, opened_version, compared)
        # Changed by someone else since the form was opened (and not to what this user typed).
        other = [
            n
            for n in compared
            if not same(fields[n], opened[n], current[n])
            and not same(fields[n], values[n], current[n])
        ]
        # Changed by this user only.
        mine = [n for n in compared if n not in other and not same(fields[n], values[n], opened[n])]
        groups = [set(group) for group in linked]
        linked_rows = {
            n: sorted({m for g in groups if n in g for m in g if m in other}) for n in mine
        }
        linked_rows = {n: ms for n, ms in linked_rows.items() if ms}
        both = [n for n in other if not same(fields[n], values[n], opened[n])]
        # A form opened before anyone had entered the record is never merged into it silently:
        # its user must first see that the record exists (and then give a reason for change).
        if not both and not linked_rows and opened_version is not None:
            # Safe: the other person's changes stay, this user's go on top of them.
            merged = {n: values[n] for n in mine}
            for leader in mine:
                merged |= {n: values[n] for n in followers.get(leader, ()) if n in values}
            return merged
        asked = other
    last, edits = _last_edits(record, opened_version, compared, opened)
    rows = []
    for name in compared:
        if name not in asked and name not in linked_rows:
            continue
        f = fields[name]
        rows.append(
            FieldConflict(
                name=name,
                label=capfirst(str(f.verbose_name)),
                opened=None if opened is None else shown(f, opened[name]),
                current=shown(f, current[name]),
                typed=shown(f, values[name]),
                edit=last.get(name),
                changed_by_other=name in asked,
                linked_to=tuple(
                    capfirst(str(fields[m].verbose_name)) for m in linked_rows.get(name, ())
                ),
            )
        )
    raise EditConflict(
        _message(record, edits, opened_version=opened_version),
        versions=[(label_of(record), record.pk, current_version)],
        first={(label_of(record), record.pk): opened_version},
        fields=rows,
        edits=edits,
        ask=tuple(row.name for row in rows),
    )


def conflict_answered(
    *, record: Model, first: int | None, version: int | None, names, typed: Mapping[str, Any]
) -> EditConflict:
    """The conflict a form answers, rebuilt from its token to show it again: the values at the
    version first opened, at the version shown as saved since, and what is typed now."""
    model = type(record)
    names = [n for n in names if n in {f.name for f in model._meta.concrete_fields}]
    fields = {name: _model_field(model, name) for name in names}
    opened = None if first == UNKNOWN else values_at(record, first, names)
    current = values_at(record, version, names)
    last, edits = _last_edits(record, first, names, opened, until=version)
    rows = [
        FieldConflict(
            name=name,
            label=capfirst(str(f.verbose_name)),
            opened=None if opened is None else shown(f, opened[name]),
            current=shown(f, current[name]),
            typed=shown(f, typed[name]) if name in typed else None,
            edit=last.get(name),
            changed_by_other=opened is None or not same(f, opened[name], current[name]),
        )
        for name, f in fields.items()
    ]
    return EditConflict(
        _message(record, edits, opened_version=first),
        versions=[(label_of(record), record.pk, version)],
        first={(label_of(record), record.pk): first},
        fields=rows,
        edits=edits,
        ask=tuple(names),
    )


def refuse_if_changed_since(
    *, record: Model, opened_version: int | None, names: Iterable[str], action: str = ""
) -> None:
    """Refuse (as `refuse_changed_since`) if any of `names` changed since the version opened:
    fields a save would undo as a consequence (a correction voids the signature or the
    confirmation given since), which the person saving has not been shown."""
    if opened_version == UNKNOWN or opened_version == version_of(record):
        return
    names = list(names)
    model = type(record)
    opened = values_at(record, opened_version, names)
    current = _current(record, names)
    if any(not same(_model_field(model, n), opened[n], current[n]) for n in names):
        refuse_changed_since(record=record, opened_version=opened_version, action=action)


def _action_rows(record: Model, opened_version: int | None, *, where: str = "") -> tuple:
    names = _tracked_names(type(record))
    fields = {name: _model_field(type(record), name) for name in names}
    current = _current(record, names)
    opened = None if opened_version == UNKNOWN else values_at(record, opened_version, names)
    last, edits = _last_edits(record, opened_version, names, opened)
    rows = [
        FieldConflict(
            name=name,
            label=capfirst(str(f.verbose_name)),
            opened=None if opened is None else shown(f, opened[name]),
            current=shown(f, current[name]),
            typed=None,
            edit=last.get(name),
            record=where,
        )
        for name, f in fields.items()
        if opened is None or not same(f, opened[name], current[name])
    ]
    return rows, edits


def refuse_changed_since(
    *, record: Model, opened_version: int | None, action: str = "", named: bool = False
) -> None:
    """Refuse an action (a signature, a confirmation, a query step...) on what a page showed,
    if `record` — whose row the caller has locked — has changed since: the action would apply
    to data its author did not see. `action` says what was not done ("nothing was signed");
    `named`: the rows name the record (a page showing several)."""
    refuse_changed_records(records=[(record, opened_version)], action=action, named=named)


def recorded_meanwhile(record: Model, *, action: str = "") -> EditConflict:
    """The conflict to show when a record that is entered once (a consent, a withdrawal) was
    recorded by someone else while this user was typing it: its values, who and when."""
    try:
        refuse_changed_records(records=[], added=[record], action=action)
    except EditConflict as conflict:
        return conflict
    raise AssertionError("a record just added is always a change")  # pragma: no cover


def refuse_changed_records(
    *,
    records: Iterable[tuple[Model, int | None]],
    action: str = "",
    added: Iterable[Model] = (),
    named: bool = False,
) -> None:
    """`refuse_changed_since` for an action on several records at once (a visit's CRFs, a
    casebook); `added` are records the page did not show at all."""
    rows: list[FieldConflict] = []
    edits: list[Edit] = []
    versions = []
    stale = False
    listed, added = list(records), list(added)
    several = named or len(listed) + len(added) > 1
    for record, opened_version in listed:
        current_version = version_of(record)
        versions.append((label_of(record), record.pk, current_version))
        if opened_version != UNKNOWN and opened_version == current_version:
            continue
        stale = True
        where = str(record) if several else ""
        more_rows, more_edits = _action_rows(record, opened_version, where=where)
        rows += more_rows
        edits += more_edits
    for record in added:
        stale = True
        versions.append((label_of(record), record.pk, version_of(record)))
        more_rows, more_edits = _action_rows(record, None, where=str(record))
        rows += [r for r in more_rows if r.current != "—"]
        edits += more_edits
    if not stale:
        return
    action = action or _("nothing was done")
    if listed and all(version == UNKNOWN for _record, version in listed):
        message = _(
            "This page does not say which version of the data it was opened on (an old page, "
            "or an altered one): %(action)s. Look at the data as they are now, below, and do it "
            "again if it still holds."
        ) % {"action": action}
    else:
        people = sorted({e.who for e in edits}) or [_("someone")]
        message = _(
            "The data changed after you opened this page (%(who)s): %(action)s. Look at what "
            "changed, below, and do it again if it still holds."
        ) % {"who": ", ".join(people), "action": action}
    raise EditConflict(message, versions=versions, fields=rows, edits=edits)
