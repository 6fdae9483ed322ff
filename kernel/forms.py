"""Form bases every app's forms use: the reason for change, the version a form was opened on,
dates and times in the reader's calendar."""

import re
from datetime import date, datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from . import calendars, concurrency


class ServiceValidatedMixin(forms.BaseForm):
    """A ModelForm that parses what is typed and leaves the rest to the service: the model's
    validation (its limits, edit checks and check constraints) is done by the service that
    saves it, once, for every caller (a page, an import, the API), and the view shows its
    refusals on the fields they name (issue 23: no check is computed in a form). Without this,
    Django's ModelForm would evaluate the check constraints itself, with their generic message
    ("Constraint … is violated"), before the service ever sees the values."""

    def _post_clean(self) -> None:
        """Not here: the service validates the model and the database its constraints."""


class ReasonForChangeMixin(forms.Form):
    """Adds a required 'reason for change' field once the record exists (21 CFR 11.10(e)).

    On a new record the field is absent; on a saved one it is required and its text goes into
    the audit trail beside the old and new values.
    """

    reason_field_name = "reason_for_change"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        instance = getattr(self, "instance", None)
        if instance is not None and instance.pk is not None:
            self.require_reason()

    def require_reason(self) -> None:
        """Ask for a reason although the form was opened on a new record: someone else saved it
        meanwhile, so this save will change their record (shown after an edit conflict)."""
        if self.reason_field_name not in self.fields:
            self.fields[self.reason_field_name] = forms.CharField(
                label=_("Reason for change"),
                help_text=_(
                    "Required for every change to a saved record; kept in the audit trail."
                ),
                widget=forms.Textarea(attrs={"rows": 2}),
                required=True,
                error_messages={
                    "required": _("Give a reason for this change; nothing was saved without one.")
                },
            )

    def changed_values(self) -> dict:
        """The data fields the user changed, with their new values (the reason excluded)."""
        return {
            name: self.cleaned_data[name]
            for name in self.changed_data
            if name != self.reason_field_name
        }

    @property
    def reason_for_change(self) -> str:
        return self.cleaned_data.get(self.reason_field_name, "")


class EditVersionMixin(forms.Form):
    """The versions a form was opened on, and the choices after an edit conflict
    (kernel.concurrency, issue 26).

    The signed token and the conflict panel are rendered by `templates/_edit_version.html`
    inside the form; they are read from the posted data, not declared as fields, so every
    layout (crispy helpers, fieldsets, hand-written forms) shows them the same way. The view
    passes `edited_by` (the signed-in user) and, for a form that is not a ModelForm, the
    records the page shows (`versioned`); it hands `opened_version()` to the service and shows
    an `EditConflict` with `show_conflict()`. After a conflict, the fields the service asked
    about must each be chosen for ("keep__<field>": mine or theirs); "theirs" is read from the
    version the conflict showed (an audit row: it cannot be altered).
    """

    # False: the form applies the choices itself, after its unit conversions (CRF forms).
    edit_choices_in_clean = True
    # Model fields chosen for on this form although they are not among its fields.
    choosable_extra: tuple[str, ...] = ()

    def __init__(self, *args, edited_by, versioned=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.edited_by = edited_by
        records = list(versioned) if versioned is not None else [self.instance]
        self.versioned = [r for r in records if r is not None]  # None: nothing to show yet
        self.edit_conflict = None
        if self.is_bound:
            self.edit_version_token = str(self.data.get(self.edit_version_name, ""))
            self.opened = concurrency.opened_from(self.edit_version_token, user=edited_by)
            if (
                isinstance(self, ReasonForChangeMixin)
                and self.versioned
                and self.opened.valid
                and self.opened.version(self.versioned[0]) is None
            ):
                # Opened on a new record that someone has saved since: the service shows them
                # that record first (EditConflict), then asks this user for a reason.
                self.fields.pop(self.reason_field_name, None)
        else:
            self.edit_version_token = concurrency.token(user=edited_by, records=self.versioned)
            self.opened = None

    @property
    def edit_version_name(self) -> str:
        return self.add_prefix(concurrency.FIELD)

    def opened_version(self, record=None) -> int | None:
        """The version of `record` (the form's record by default) the form was opened on."""
        record = self.versioned[0] if record is None else record
        if self.opened is None:
            return concurrency.shown_version(record)
        return self.opened.version(record)

    def edited_values(self) -> dict:
        """Every value of the record the form writes, as typed (the service compares them with
        the version opened and the one saved: the form does not decide what changed)."""
        model_fields = {f.name for f in self.versioned[0]._meta.concrete_fields}
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in self.fields and name in model_fields
        }

    def opened_versions(self) -> dict:
        """(label, pk) -> version of every record the form was opened on (UNKNOWN for each
        record the page shows, if the token is missing or altered)."""
        if self.opened is None:
            return {
                (concurrency.label_of(r), r.pk): concurrency.shown_version(r)
                for r in self.versioned
            }
        if not self.opened.valid:
            return {(concurrency.label_of(r), r.pk): concurrency.UNKNOWN for r in self.versioned}
        return dict(self.opened.versions)

    @property
    def asked(self) -> tuple[str, ...]:
        return self.opened.ask if self.opened is not None else ()

    def choosable(self, name: str) -> bool:
        return name in self.fields or name in self.choosable_extra

    def edit_choice_name(self, name: str) -> str:
        return self.add_prefix(f"keep__{name}")

    def edit_choice(self, name: str) -> str | None:
        value = self.data.get(self.edit_choice_name(name)) if self.is_bound else None
        return value if value in ("mine", "theirs") else None

    def clean(self):
        cleaned = super().clean()
        if self.edit_choices_in_clean:
            self.apply_edit_choices(cleaned)
        return cleaned

    def apply_edit_choices(self, cleaned) -> None:
        """Replace what was typed by the saved value where the user chose "theirs"."""
        names = [n for n in self.asked if self.choosable(n)]
        if not names:
            return
        record = self.versioned[0]
        theirs = concurrency.values_at(record, self.opened.version(record), names)
        for name in names:
            choice = self.edit_choice(name)
            if choice is None:
                label = record._meta.get_field(name).verbose_name
                self.add_error(
                    None,
                    _("Choose which value of “%(field)s” to keep: yours or the one saved.")
                    % {"field": label},
                )
            elif choice == "theirs":
                self.take_theirs(cleaned, name, theirs[name])

    def take_theirs(self, cleaned, name: str, value) -> None:
        cleaned[name] = concurrency.for_form(self.versioned[0], name, value)

    def show_conflict(self, conflict) -> None:
        """Show an EditConflict on this form: every value typed stays; the token now names the
        versions the user is shown, and the fields they must choose for."""
        self.edit_conflict = conflict
        self.edit_version_token = concurrency.token(
            user=self.edited_by, records=conflict.versions, ask=conflict.ask, first=conflict.first
        )
        if isinstance(self, ReasonForChangeMixin) and conflict.ask:
            self.require_reason()
        # The panel (templates/_edit_conflict.html) says what happened: not repeated as an error.

    @property
    def edit_conflict_shown(self):
        """The conflict to show: the one just met, or, when a form answering a conflict is
        shown again (a choice missing, a value refused), the one it answers."""
        if self.edit_conflict is not None:
            return self.edit_conflict
        if not (self.is_bound and self.asked):
            return None
        if getattr(self, "_answered_conflict", None) is None:
            record = self.versioned[0]
            cleaned = getattr(self, "cleaned_data", None) or {}
            self._answered_conflict = concurrency.conflict_answered(
                record=record,
                first=self.opened.first_version(record),
                version=self.opened.version(record),
                names=self.asked,
                typed={n: cleaned.get(n) for n in self.asked if n in cleaned},
            )
        return self._answered_conflict

    @property
    def edit_conflict_rows(self) -> list[dict]:
        conflict = self.edit_conflict_shown
        if conflict is None:
            return []
        fresh = conflict is self.edit_conflict
        return [
            {
                "field": row,
                "choosable": row.name in conflict.ask and self.choosable(row.name),
                "input_name": self.edit_choice_name(row.name),
                "choice": None if fresh else self.edit_choice(row.name),
            }
            for row in conflict.fields
        ]


class EdcDateInput(forms.DateInput):
    """A date input in the reader's calendar.

    Gregorian: the browser's own date input (ISO value, native picker). Jalali: a text input that
    takes 1399/12/15 (ASCII or Persian digits), shows the Gregorian date it stands for as the user
    types, and opens a month picker rendered by the server (no date arithmetic in JavaScript).
    """

    template_name = "widgets/edc_date.html"

    def format_value(self, value):
        if isinstance(value, date):
            return calendars.format_date(value, calendar=calendars.active())
        return value

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        jalali = calendars.active() == calendars.JALALI
        widget = context["widget"]
        widget["jalali"] = jalali
        widget["type"] = "text" if jalali else "date"
        if jalali:
            if isinstance(value, date):
                widget["gregorian"] = _("= %(date)s in the Gregorian calendar") % {
                    "date": value.isoformat()
                }
            widget["attrs"].setdefault("placeholder", "1399/12/15")
            widget["attrs"].setdefault("inputmode", "numeric")
            widget["attrs"].setdefault("autocomplete", "off")
        return context


class EdcDateField(forms.DateField):
    """A date typed in the reader's calendar, stored as a Gregorian `date`."""

    widget = EdcDateInput

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, date):
            return value
        try:
            return calendars.parse_date(str(value))
        except calendars.DateInputError:
            if calendars.active() == calendars.JALALI:
                message = _("Enter a Solar Hijri (Jalali) date as YYYY/MM/DD, e.g. 1399/12/15.")
            else:
                message = _("Enter a date as YYYY-MM-DD, e.g. 2021-03-05.")
            raise forms.ValidationError(message, code="invalid") from None


class EdcDateTimeInput(forms.DateTimeInput):
    """A date and time in the reader's calendar: the browser's `datetime-local` input for
    Gregorian readers; for Jalali readers a text input taking `1399/12/15 14:30` (local time),
    with the month picker of the date fields (a picked day keeps the time typed)."""

    template_name = "widgets/edc_date.html"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")

    def format_value(self, value):
        if isinstance(value, datetime) and calendars.active() == calendars.JALALI:
            local = timezone.localtime(value) if timezone.is_aware(value) else value
            day = calendars.format_date(local.date(), calendar=calendars.JALALI)
            return f"{day} {local:%H:%M}"
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget = context["widget"]
        widget["jalali"] = calendars.active() == calendars.JALALI
        widget["with_time"] = True
        if widget["jalali"]:
            widget["type"] = "text"
            widget["attrs"].setdefault("placeholder", "1399/12/15 14:30")
            widget["attrs"].setdefault("autocomplete", "off")
        else:
            widget["type"] = "datetime-local"
        return context


_JALALI_DATETIME = re.compile(r"^\s*(\S+)[\sT]+(\d{1,2}):(\d{2})\s*$")


class EdcDateTimeField(forms.DateTimeField):
    """A date and time typed in the reader's calendar (Jalali: `1399/12/15 14:30`, ASCII or
    Persian digits), in the reader's time zone, stored as an aware UTC `datetime`."""

    widget = EdcDateTimeInput

    def to_python(self, value):
        if isinstance(value, str) and calendars.active() == calendars.JALALI:
            invalid = forms.ValidationError(
                _("Enter the date and time as YYYY/MM/DD HH:MM, e.g. 1399/12/15 14:30."),
                code="invalid",
            )
            match = _JALALI_DATETIME.match(calendars.ascii_digits(value))
            if match is None:
                raise invalid
            try:
                day = calendars.parse_date(match.group(1))
                moment = time(int(match.group(2)), int(match.group(3)))
            except (calendars.DateInputError, ValueError):
                raise invalid from None
            return timezone.make_aware(datetime.combine(day, moment))
        return super().to_python(value)
