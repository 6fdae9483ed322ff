"""Every write the randomization app does: one transaction each (STYLE.md, SPEC §3)."""

from __future__ import annotations

import json
import zoneinfo
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import DatabaseError, IntegrityError, connection, models, transaction
from django.urls import get_script_prefix, reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from psycopg import sql
from psycopg.types.json import Jsonb

from accounts import twofactor
from accounts.models import BackupCodes
from datamanagement import services as data_services
from datamanagement.models import Lock, QueryOrigin
from datamanagement.selectors import database_is_locked
from kernel import audit, concurrency
from kernel.access import site_scope, sites_for
from kernel.alerts import alert_dispatch, alert_enqueue
from kernel.models import AlertKind, SecurityEventKind, Site
from kernel.roles import Role, roles_of
from kernel.services import security_event_record
from kernel.trial import BASELINE, INFUSION, TRIAL
from outcomes.models import Baseline, VisitState
from participants.models import Participant, ParticipantStatus
from safety.models import AdverseEvent

from . import blocks, dosing, selectors
from .exceptions import (
    AlreadyRandomized,
    InvalidList,
    ListExhausted,
    ListInUse,
    ListTampered,
    NoList,
    NotRandomizable,
    PasswordMismatch,
    PhaseClosed,
    PhaseGateRefused,
    PreparationError,
    SecondFactorRefused,
    UnblindingNotAllowed,
)
from .models import (
    OPENING_DECISIONS,
    EmergencyUnblinding,
    ListSource,
    PhaseReview,
    Preparation,
    Randomization,
    RandomizationList,
    Slot,
    TrialUnblinding,
)

# -- lists -----------------------------------------------------------------------------------


def list_rules(phase: str) -> blocks.ListRules:
    config = TRIAL.phase(phase)
    return blocks.ListRules(
        block_sizes=tuple(TRIAL.block_sizes),
        arms=tuple(a.code for a in TRIAL.arms),
        alphabet=TRIAL.envelope_alphabet,
        code_length=TRIAL.envelope_length,
        exact_length=config.slots_per_stratum,
        per_arm=config.per_stratum_per_arm,
        minimum_length=config.slots_per_stratum or config.target_total,
    )


def envelope_key() -> bytes:
    """The secret behind envelope codes: a dedicated setting if there is one, else SECRET_KEY."""
    key = getattr(settings, "RANDOMIZATION_ENVELOPE_KEY", "") or settings.SECRET_KEY
    return f"trialedc.randomization.envelope|{key}".encode()


def list_generate_rows(
    *, phase: str, stratum: str, seed: int, taken_codes=(), length: int | None = None
) -> list[blocks.SlotRow]:
    """The list a seed gives for (phase, stratum); writes nothing (the CLI prints this).

    `length` (at least the phase's target) makes a longer list for a phase without a fixed
    number of slots per stratum: the large demo and the benchmarks (network scale) use it."""
    TRIAL.stratum(stratum)  # KeyError for an unknown stratum
    config = TRIAL.phase(phase)
    if config.slots_per_stratum is not None:
        length = config.slots_per_stratum
    else:
        length = max(length or 0, config.target_total)
    rows = blocks.generate(
        seed=seed,
        length=length,
        exact=config.slots_per_stratum is not None,
        block_sizes=TRIAL.block_sizes,
        arms=[a.code for a in TRIAL.arms],
        envelope_key=envelope_key(),
        namespace=f"{TRIAL.registry_id}|{phase}|{stratum}",
        alphabet=TRIAL.envelope_alphabet,
        code_length=TRIAL.envelope_length,
        taken_codes=taken_codes,
    )
    errors = blocks.validate(rows, list_rules(phase))
    if errors:  # a generator bug, never a user error: refuse rather than store
        raise InvalidList(_("The generated list breaks the rules."), errors)
    return rows


def _number(phase: str, stratum: str, sequence: int) -> str:
    """'A-007': numbers run on across the phases of a stratum, so each is unique."""
    offset = 0
    for config in TRIAL.phases:
        if config.code == phase:
            break
        offset += config.slots_per_stratum or config.target_total
    return f"{stratum}-{offset + sequence:0{TRIAL.randomization_number_digits}d}"


def list_store(
    *,
    phase: str,
    stratum: str,
    rows: list[blocks.SlotRow],
    source: str,
    seed: int | None,
    user,
) -> RandomizationList:
    """Store a validated list and its checksum; replaces an unused list, never a used one."""
    errors = blocks.validate(rows, list_rules(phase))
    if errors:
        raise InvalidList(_("The list was not stored: it breaks the rules below."), errors)
    with transaction.atomic():
        # The counters' lock first, as slot_assign takes it: no slot of the list is given
        # while it is checked unused and replaced.
        counters_lock(phase, stratum)
        existing = (
            RandomizationList.objects.select_for_update()
            .filter(phase=phase, stratum=stratum)
            .first()
        )
        if existing is not None:
            if Randomization.objects.filter(slot__randomization_list=existing).exists():
                raise ListInUse(
                    _(
                        "The list of phase %(phase)s, stratum %(stratum)s already holds "
                        "assignments; it cannot be replaced."
                    )
                    % {"phase": phase, "stratum": stratum}
                )
            # The slots' immutability trigger lets this transaction delete the unused list's
            # slots, and only them (migration 0005).
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT set_config('trialedc.replacing_list', %s, true)", [str(existing.pk)]
                )
            audit.delete_with_reason(existing, user=user, reason=_("Replaced before use"))
        rlist = RandomizationList(
            phase=phase,
            stratum=stratum,
            source=source,
            seed=seed,
            checksum=blocks.checksum(rows),
            created_by=user,
        )
        audit.save_with_reason(rlist, user=user)
        try:
            Slot.objects.bulk_create(
                Slot(
                    randomization_list=rlist,
                    sequence=r.sequence,
                    block=r.block,
                    block_size=r.block_size,
                    arm=r.arm,
                    envelope_code=r.envelope_code,
                    number=(number := _number(phase, stratum, r.sequence)),
                    seal=blocks.slot_seal(checksum=rlist.checksum, number=number, row=r),
                )
                for r in rows
            )
        except IntegrityError as error:
            raise InvalidList(
                _("An envelope code of this list is already used by another list.")
            ) from error
        list_verify(rlist)  # what was stored is what was validated and hashed
    return rlist


def list_generate(
    *, phase: str, stratum: str, seed: int, user, length: int | None = None
) -> RandomizationList:
    taken = Slot.objects.exclude(
        randomization_list__phase=phase, randomization_list__stratum=stratum
    ).values_list("envelope_code", flat=True)
    rows = list_generate_rows(
        phase=phase, stratum=stratum, seed=seed, taken_codes=list(taken), length=length
    )
    return list_store(
        phase=phase, stratum=stratum, rows=rows, source=ListSource.GENERATED, seed=seed, user=user
    )


def list_import(*, phase: str, stratum: str, csv_text: str, user) -> RandomizationList:
    """Store an externally generated list after the same validation, with line numbers."""
    rows, errors = blocks.parse_csv(csv_text)
    if errors:
        raise InvalidList(_("The file was not imported: fix the lines below."), errors)
    return list_store(
        phase=phase, stratum=stratum, rows=rows, source=ListSource.IMPORTED, seed=None, user=user
    )


def list_verify(rlist: RandomizationList) -> None:
    """The verifier: refuse to use a list whose stored slots differ from its recorded checksum."""
    if selectors.list_checksum(rlist) != rlist.checksum:
        raise ListTampered(
            _(
                "The randomization list of phase %(phase)s, stratum %(stratum)s does not match "
                "the checksum recorded when it was created. Randomization is stopped; call the "
                "trial statistician."
            )
            % {"phase": rlist.phase, "stratum": rlist.stratum}
        )


# -- assignment --------------------------------------------------------------------------------


_COUNTERS_LOCK = """
    INSERT INTO randomization_assignmentcounter (phase, stratum, assigned)
    SELECT phase, stratum, 0 FROM unnest(%s::varchar[], %s::varchar[]) AS k (phase, stratum)
    ORDER BY phase, stratum
    ON CONFLICT (phase, stratum) DO UPDATE SET assigned = randomization_assignmentcounter.assigned
    RETURNING stratum, assigned
"""


def counters_lock(phase: str, stratum: str | None = None) -> dict[str, int]:
    """Lock the phase's counter row (and its stratum's), creating them if need be: the one
    lock that serializes what changes a phase's assignments (slot_assign, list_store replacing
    a list, the phase gate). {"": slots given in the phase, stratum: slots given in it}.

    Rows in (phase, stratum) order, the phase's row ('') first, as the counters' trigger takes
    them (migration 0005): no deadlock. The trigger keeps the counts on every insert or delete
    of a Randomization, so they are the database's, whoever wrote the rows."""
    keys = [""] if stratum is None else ["", stratum]
    with connection.cursor() as cursor:
        cursor.execute(_COUNTERS_LOCK, [[phase] * len(keys), keys])
        return dict(cursor.fetchall())


def slot_assign(
    *, participant: Participant, user, respiratory_support: str, randomized_at=None
) -> Randomization:
    """Give an enrolled participant the next free slot of its (phase, stratum) list.

    `randomized_at` (default now; never in the future) is for a randomization that happened
    earlier, e.g. by sealed envelope while the system was down, and for the demo trial; the
    pages never offer it. Day 0 is its date at the participant's site.

    One statement: the database function `randomization_assign` (migration 0007) does, in one
    transaction and in this order, what this service did through the ORM until issue 24:
    locks the participant row (one participant cannot be randomized twice), checks the user's
    sites, "already randomized", the status, the phase (its latest DSMB review) and the data
    manager's locks; writes the visit schedule with its audit rows and the participant's new
    status with its audit row; then, last, locks the phase's and the stratum's counter rows
    (`counters_lock`: two coordinators cannot take one slot, the phase cap cannot be overrun by
    two strata at once), takes the next slot (locked, free, matching its seal), checks the phase
    cap, stores the Randomization (unique participant and slot: the backstop) and tells the
    site's pharmacists (`pharmacy_message`, in the product and through the outbox). Each refusal
    comes back as its own SQLSTATE and becomes the same exception, with the same words, as
    before (`_refusal`). docs/randomization.md, "Assignment"; docs/performance.md, issue 24.
    """
    if respiratory_support not in TRIAL.respiratory_support_stratum:
        raise NotRandomizable(_("Choose the respiratory support at randomization."))
    now = timezone.now()
    if randomized_at is not None and randomized_at > now:
        raise NotRandomizable(_("A randomization cannot be dated in the future."))
    randomized_at = randomized_at or now
    stratum = TRIAL.stratum_for_support(respiratory_support)
    # The coordinator's values, as the ORM save validated them; the foreign keys, Day 0 (the
    # function's) and the unique columns are the database's.
    Randomization(respiratory_support=respiratory_support, randomized_at=randomized_at).full_clean(
        exclude=["participant", "slot", "randomized_by", "day0"]
    )
    arguments = {
        "participant": participant.pk,
        "user": user.pk,
        "site_scope": site_scope(user),
        "support": respiratory_support,
        "stratum": stratum,
        "randomized_at": randomized_at,
        # The audit rows' and notices' time from the application's clock, as simple-history
        # and auto_now_add take it (not the database's).
        "now": now,
    }
    try:
        if connection.in_atomic_block:
            # Inside the caller's transaction: a savepoint, so a refusal leaves it usable.
            with transaction.atomic():
                row = _assign(arguments)
        else:
            # Its own transaction: the statement commits as it ends, so the counters' lock is
            # released by the database, not after this thread gets the interpreter back.
            row = _assign(arguments)
    except DatabaseError as error:
        refusal = _refusal(error)
        if refusal is None:
            raise
        raise refusal from None
    randomization = _loaded(Randomization, row["randomization"])
    randomization.participant = _loaded(Participant, row["participant"])
    randomization.participant.site = _loaded(Site, row["site"])
    randomization.slot = _loaded(Slot, row["slot"])
    randomization.slot.randomization_list = _loaded(RandomizationList, row["list"])
    randomization.randomized_by = user
    if row["alert"] is not None:
        # As kernel.alerts.alert_create: the e-mail leaves after the commit (now, outside a
        # transaction).
        transaction.on_commit(partial(alert_dispatch, alert_id=row["alert"]), robust=True)
    return randomization


def _constant_arguments() -> dict[str, Any]:
    """The arguments of `randomization_assign` that are the same at every call in one language:
    the trial's numbers (kernel/trial.py) and the words of the audit rows and of the pharmacy
    notice in the active language."""
    return {
        "review_phase": TRIAL.gate_review_of_phase,
        "gated_phase": TRIAL.gated_phase,
        "opening_decisions": [str(d) for d in OPENING_DECISIONS],
        "phase_targets": Jsonb({p.code: p.target_total for p in TRIAL.phases}),
        "enrolled": str(ParticipantStatus.ENROLLED),
        "randomized": str(ParticipantStatus.RANDOMIZED),
        "reason": _("Randomized"),
        "visit_codes": [v.code for v in TRIAL.visits],
        "visit_days": [v.day for v in TRIAL.visits],
        "visit_before": [v.window_before for v in TRIAL.visits],
        "visit_after": [v.window_after for v in TRIAL.visits],
        "visit_state": str(VisitState.SCHEDULED),
        "visit_reason": _("Initial entry"),
        "pharmacist_group": Role.PHARMACIST.value,
        "note_text": _pharmacy_words(),
        "note_link": reverse("randomization:pharmacy_queue"),
        "alert_kind": str(AlertKind.DOSE_TO_PREPARE),
        "alert_subject": _pharmacy_subject_words(),
    }


# The parameters in the function's order; the constant ones are written into the statement.
_PARAMETERS = (
    "participant", "user", "site_scope", "support", "stratum", "randomized_at", "now",
    "review_phase", "gated_phase", "opening_decisions", "phase_targets", "enrolled",
    "randomized", "reason", "visit_codes", "visit_days", "visit_before", "visit_after",
    "visit_state", "visit_reason", "pharmacist_group", "note_text", "note_link", "alert_kind",
    "alert_subject",
)  # fmt: skip

# (language, script prefix) -> (the TRIAL it was written for, the statement).
_statements: dict[tuple, tuple[Any, str]] = {}


def _statement() -> str:
    """`SELECT randomization_assign(...)` with the constant arguments written in as SQL literals
    (quoted by psycopg, as it quotes a parameter) and the seven that change at each call left as
    parameters. Built once per process, language, script prefix (the pharmacy link) and trial
    configuration (a test or the benchmark may replace TRIAL): converting the 18 constant
    arguments, five of them arrays, at each call was a tenth of the Python of an assignment
    (docs/performance.md, issue 24, fourth step)."""
    key = (get_language(), get_script_prefix())
    cached = _statements.get(key)
    if cached is not None and cached[0] is TRIAL:
        return cached[1]
    connection.ensure_connection()
    constants = {
        name: sql.Literal(value).as_string(connection.connection).replace("%", "%%")
        for name, value in _constant_arguments().items()
    }
    statement = "SELECT randomization_assign({})".format(
        ", ".join(constants.get(name, f"%({name})s") for name in _PARAMETERS)
    )
    _statements[key] = (TRIAL, statement)
    return statement


def _assign(arguments: dict[str, Any]) -> dict[str, Any]:
    with connection.cursor() as cursor:
        cursor.execute(_statement(), arguments)
        return json.loads(cursor.fetchone()[0])  # Django reads jsonb as text


# Per model: its columns' attribute names, and for each the conversion of a JSON value to the
# field's Python value (None where the JSON value is already it: text, integers, booleans).
_columns: dict[type, tuple[list[str], list[str], list]] = {}
_AS_IS = (models.CharField, models.TextField, models.IntegerField, models.BooleanField)


def _loaded(model, row: dict[str, Any]):
    """A model instance from a row the database function returned as JSON (its columns)."""
    columns = _columns.get(model)
    if columns is None:
        fields = model._meta.concrete_fields
        columns = _columns.setdefault(
            model,
            (
                [f.attname for f in fields],
                [f.column for f in fields],
                [
                    None
                    if isinstance(f.target_field if f.is_relation else f, _AS_IS)
                    else f.to_python
                    for f in fields
                ],
            ),
        )
    attnames, names, converters = columns
    return model.from_db(
        connection.alias,
        attnames,
        [
            row[name] if convert is None or row[name] is None else convert(row[name])
            for name, convert in zip(names, converters, strict=True)
        ],
    )


def _refusal(error: DatabaseError) -> Exception | None:
    """The exception slot_assign raised before issue 24 for a refusal of `randomization_assign`
    (SQLSTATE class RZ, migration 0007), with the same words; None for any other error."""
    cause = error.__cause__
    sqlstate = getattr(cause, "sqlstate", None) or ""
    if not sqlstate.startswith("RZ"):
        return None
    detail = json.loads(getattr(cause, "diag").message_detail or "{}")  # noqa: B009
    match sqlstate:
        case "RZ000":
            return Participant.DoesNotExist("Participant matching query does not exist.")
        case "RZ001":
            return NotRandomizable(_("This participant belongs to a site you are not assigned to."))
        case "RZ002":
            return AlreadyRandomized(
                _("Participant %(id)s is already randomized.") % {"id": detail["study_id"]}
            )
        case "RZ003":
            return NotRandomizable(
                _(
                    "Participant %(id)s cannot be randomized: status is “%(status)s”; only an "
                    "enrolled participant (eligible, consented, not withdrawn) can be."
                )
                % {
                    "id": detail["study_id"],
                    "status": ParticipantStatus(detail["status"]).label,
                }
            )
        case "RZ004":
            return data_services.lock_refusal(
                Lock.objects.select_related("locked_by").get(pk=detail["lock"])
            )
        case "RZ005":
            return NoList(
                _(
                    "There is no randomization list for phase %(phase)s, stratum %(stratum)s "
                    "yet. Ask the trial statistician to create it; nothing was changed."
                )
                % {"phase": detail["phase"], "stratum": detail["stratum"]}
            )
        case "RZ006":
            return _tampered(detail["phase"], detail["stratum"])
        case "RZ007":
            return PhaseClosed(_phase_full_message(detail["phase"], detail["target"]))
        case "RZ008":
            if detail["missing"]:
                # A slot missing from the middle of the list: the whole list is verified.
                try:
                    list_verify(RandomizationList.objects.get(pk=detail["list"]))
                except ListTampered as tampered:
                    return tampered
            return ListExhausted(_exhausted_message(detail["phase"], detail["stratum"]))
    return None


def _tampered(phase: str, stratum: str) -> ListTampered:
    return ListTampered(
        _(
            "The randomization list of phase %(phase)s, stratum %(stratum)s does not match "
            "the checksum recorded when it was created. Randomization is stopped; call the "
            "trial statistician."
        )
        % {"phase": phase, "stratum": stratum}
    )


def _pharmacy_words() -> str:
    """What the pharmacist is told at a randomization, before the study ID, site and Day 0 are
    put in (`pharmacy_message`; `randomization_assign` puts them in the same way)."""
    return _(
        "Participant %(id)s was randomized at site %(site)s (Day 0: %(day0)s): a dose to "
        "prepare. Open the pharmacy queue."
    )


def _pharmacy_subject_words() -> str:
    return _("Trial EDC: a dose to prepare at site %(site)s")


def pharmacy_message(randomization: Randomization) -> str:
    """What the pharmacist is told at a randomization. Built from the study ID, site and Day 0
    only, never from the slot: the words are the same whatever the arm, so that an e-mail read
    over a shoulder, or its length, says nothing about it (SPEC §3). Written by
    `randomization_assign` in the assignment's transaction, to every active pharmacist of the
    site in the product and in one e-mail through the outbox (kernel.alerts), so it is sent
    even if the mail server is down at that moment."""
    participant = randomization.participant
    return _pharmacy_words() % {
        "id": participant.study_id,
        "site": participant.site.code,
        "day0": randomization.day0.isoformat(),
    }


def _phase_full_message(phase: str, target: int) -> str:
    """Why randomization is refused when the phase is full, and where it goes on from."""
    if phase == TRIAL.gate_review_of_phase:
        return _(
            "Phase %(phase)s is full: %(target)s participants are randomized. Nothing was "
            "changed. Randomization resumes in phase %(next)s once the DSMB gate is open: the "
            "unblinded statistician (DSMB) records the DSMB's approval of the phase %(phase)s "
            "safety review on the Phase gate page (Randomization menu)."
        ) % {"phase": phase, "target": target, "next": TRIAL.gated_phase}
    return _(
        "Phase %(phase)s is full: %(target)s participants are randomized, the trial's target. "
        "Nothing was changed."
    ) % {"phase": phase, "target": target}


def _exhausted_message(phase: str, stratum: str) -> str:
    if phase == TRIAL.gate_review_of_phase:
        return _(
            "Every slot of phase %(phase)s, stratum %(stratum)s is taken. Randomization resumes "
            "in phase %(next)s once the DSMB gate is open: the unblinded statistician (DSMB) "
            "records the DSMB's approval of the phase %(phase)s safety review on the Phase gate "
            "page (Randomization menu). Nothing was changed."
        ) % {"phase": phase, "stratum": stratum, "next": TRIAL.gated_phase}
    return _(
        "Every slot of phase %(phase)s, stratum %(stratum)s is taken. Ask the trial "
        "statistician to extend the list. Nothing was changed."
    ) % {"phase": phase, "stratum": stratum}


# -- phase gate --------------------------------------------------------------------------------


def _readiness_refusals(readiness: selectors.GateReadiness) -> list[str]:
    """What keeps the gate closed, one line each (SPEC §10), in the page's words."""
    refusals = [
        _("Stratum %(stratum)s: %(used)s of %(slots)s phase %(phase)s slots are used.")
        % {"stratum": s.stratum, "used": s.used, "slots": s.slots, "phase": readiness.phase}
        for s in readiness.strata
        if not s.complete
    ]
    for p in readiness.participants:
        if not p.window.complete:
            refusals.append(
                _("%(id)s (%(number)s): the safety window is not complete: %(missing)s.")
                % {"id": p.study_id, "number": p.number, "missing": safety_window_missing(p.window)}
            )
    return refusals


def safety_window_missing(window) -> str:
    """What an open safety window still needs, for the checklist and the refusal."""
    if window.visit_state is None:
        return _("no %(visit)s visit is scheduled") % {"visit": window.visit_code}
    if window.visit_state == "missed":
        return _(
            "the %(visit)s visit was missed (only a %(visit)s visit done, a death or a "
            "withdrawal completes it)"
        ) % {"visit": window.visit_code}
    return _("the %(visit)s visit is not done yet (its window closes %(date)s)") % {
        "visit": window.visit_code,
        "date": window.visit_window_end.isoformat() if window.visit_window_end else "—",
    }


def _readiness_record(readiness: selectors.GateReadiness) -> dict:
    return {
        "strata": [
            {"stratum": s.stratum, "used": s.used, "slots": s.slots} for s in readiness.strata
        ],
        "participants": [
            {
                "study_id": p.study_id,
                "number": p.number,
                "complete": p.window.complete,
                "visit_state": p.window.visit_state,
                "ended_by": p.window.ended_by,
                "ended_on": p.window.ended_on.isoformat() if p.window.ended_on else None,
            }
            for p in readiness.participants
        ],
        "ready": readiness.ready,
    }


def phase_review_record(
    *,
    phase: str,
    review_date,
    decision: str,
    document_reference: str,
    user,
    password: str,
    second_factor_code: str,
    request,
) -> PhaseReview:
    """Record the DSMB's decision on the safety review of `phase` (SPEC §3 and §10).

    Refused unless the recorder is the statistician/DSMB, the minutes reference is given, the
    password is right, and a current second factor is given (the code of accounts.twofactor,
    as for unblinding and e-signatures; `request` is for its security log). An approval opens
    the gated phase, so it is refused too until every slot of `phase` is used in every stratum
    and each of its participants has completed the safety window (selectors.gate_readiness):
    PhaseGateRefused lists every reason at once. The checklist is stored with the decision.
    """

    document_reference = (document_reference or "").strip()
    opening = decision in OPENING_DECISIONS
    refusals = []
    if Role.STATISTICIAN not in roles_of(user):
        refusals.append(_("Only the unblinded statistician / DSMB records the DSMB's decision."))
    if phase != TRIAL.gate_review_of_phase:
        refusals.append(
            _("Phase %(phase)s has no gate review.") % {"phase": phase}  # a wrong caller
        )
    if not document_reference:
        refusals.append(_("Give the DSMB minutes reference (number and date of the minutes)."))
    if opening:
        refusals += _readiness_refusals(selectors.gate_readiness())
    if refusals:
        raise PhaseGateRefused(_("Nothing was recorded."), refusals)
    if not user.check_password(password):
        raise PasswordMismatch(_("The password is not correct; nothing was recorded."))
    if not twofactor.is_set_up(user):
        raise SecondFactorRefused(
            _(
                "The DSMB's decision is signed with a second factor: set up two-factor sign-in "
                "(your account's two-factor page) first. Nothing was recorded."
            )
        )
    # Outside the transaction below: a wrong code must stay counted (throttling) and logged.
    try:
        device = twofactor.check(request=request, code=second_factor_code, purpose="phase gate")
    except twofactor.CodeRefused as refusal:
        raise SecondFactorRefused(str(refusal)) from refusal
    with transaction.atomic():
        # The reviewed phase's counter locked, as slot_assign locks it: no participant is
        # randomized into the phase between this check and the decision.
        counters_lock(phase)
        readiness = selectors.gate_readiness()
        if opening and not readiness.ready:
            raise PhaseGateRefused(_("Nothing was recorded."), _readiness_refusals(readiness))
        review = PhaseReview(
            phase=phase,
            review_date=review_date,
            decision=decision,
            document_reference=document_reference,
            recorded_by=user,
            second_factor="backup code" if isinstance(device, BackupCodes) else "app",
            readiness=_readiness_record(readiness),
        )
        review.full_clean()
        audit.save_with_reason(review, user=user)
    return review


# -- pharmacy ----------------------------------------------------------------------------------


def _is_active(slot: Slot) -> bool:
    return slot.arm == TRIAL.arms[0].code  # the first arm is the product, the second placebo


def dose_for(*, slot: Slot, weight_kg: Decimal, concentration_million_per_ml) -> dosing.Dose:
    try:
        return dosing.syringe(
            active=_is_active(slot),
            weight_kg=weight_kg,
            dose_per_kg=TRIAL.dose_exosomes_per_kg,
            concentration_million_per_ml=concentration_million_per_ml,
            total_volume_ml=TRIAL.dose_volume_ml,
        )
    except dosing.ConcentrationMissing as error:
        raise PreparationError(
            _("Give the lot's concentration: the volume to draw depends on it.")
        ) from error
    except dosing.LotTooDilute as error:
        raise PreparationError(
            _(
                "This lot is too dilute: the dose needs %(needed)s ml of it, more than the "
                "%(total)s ml syringe. Use a more concentrated lot."
            )
            % {"needed": error.needed_ml, "total": error.total_ml}
        ) from error


def dosing_weight(participant) -> Decimal | None:
    """The weight the dose is computed from: the Baseline CRF's (Day 0), its single source
    (issue 18: never typed again by the pharmacist). None until the Baseline CRF holds it."""
    return (
        Baseline.objects.filter(visit__participant=participant, weight_kg__isnull=False)
        .values_list("weight_kg", flat=True)
        .first()
    )


def _weight_missing() -> str:
    return _(
        "The Baseline CRF (Day 0) has no weight yet: the dose is computed from the weight "
        "recorded there. Ask the site to enter it."
    )


def preparation_record(
    *,
    randomization: Randomization,
    user,
    lot_number: str,
    concentration_million_per_ml: Decimal | None,
    lot_expiry,
    checked_by: str,
) -> Preparation:
    with transaction.atomic():
        randomization = (
            Randomization.objects.select_for_update()
            .select_related("slot", "participant")
            .get(pk=randomization.pk)
        )
        if not sites_for(user).filter(pk=randomization.participant.site_id).exists():
            raise PreparationError(_("This participant belongs to a site you are not assigned to."))
        if Preparation.objects.filter(randomization=randomization).exists():
            raise PreparationError(_("This participant's dose is already prepared."))
        weight_kg = dosing_weight(randomization.participant)
        if weight_kg is None:
            raise PreparationError(_weight_missing())
        active = _is_active(randomization.slot)
        if active and not (lot_number and concentration_million_per_ml and lot_expiry):
            raise PreparationError(_("Give the lot number, its concentration and its expiry date."))
        now = timezone.now()
        if active and lot_expiry < timezone.localdate(now):
            raise PreparationError(_("This lot expired on %(date)s.") % {"date": lot_expiry})
        dose = dose_for(
            slot=randomization.slot,
            weight_kg=weight_kg,
            concentration_million_per_ml=concentration_million_per_ml,
        )
        preparation = Preparation(
            randomization=randomization,
            weight_kg=weight_kg,
            lot_number=lot_number if active else "",
            concentration_million_per_ml=concentration_million_per_ml if active else None,
            lot_expiry=lot_expiry if active else None,
            product_volume_ml=dose.product_volume_ml,
            saline_volume_ml=dose.saline_volume_ml,
            prepared_at=now,
            prepared_by=user,
            checked_by=checked_by,
        )
        preparation.full_clean()
        audit.save_with_reason(preparation, user=user)
    return preparation


def handover_record(
    *, preparation: Preparation, user, handed_over_to: str, opened_version: int | None
) -> Preparation:
    """The syringe goes to the (blinded) nurse. Of the preparation the pharmacist was shown
    (`opened_version`): refused if it changed since (kernel.concurrency)."""
    with transaction.atomic():
        preparation = Preparation.objects.select_for_update().get(pk=preparation.pk)
        concurrency.refuse_changed_since(
            record=preparation, opened_version=opened_version, action=_("nothing was recorded")
        )
        if preparation.handed_over_at is not None:
            raise PreparationError(_("This syringe was already handed over."))
        preparation.handed_over_at = timezone.now()
        preparation.handed_over_to = handed_over_to
        preparation.handed_over_by = user
        preparation.full_clean()
        audit.save_with_reason(preparation, user=user, reason=_("Handed over to the nurse"))
    return preparation


# -- what outcomes asks of the pharmacy (registered in apps.py: outcomes.hooks, signals) ----------


def baseline_respiratory_support(participant) -> dict:
    """The Baseline CRF's respiratory support: the one the participant was randomized with."""
    support = (
        Randomization.objects.filter(participant=participant)
        .values_list("respiratory_support", flat=True)
        .first()
    )
    return {"respiratory_support": support} if support else {}


def infusion_guard(crf, complete: bool) -> dict[str, str]:
    """The infusion CRF cannot be completed before the pharmacy handed this participant's dose
    over (issue 18). Arm-free: both arms' syringes are handed over alike."""
    if crf.crf_code != INFUSION or not complete:
        return {}
    handed_over = Preparation.objects.filter(
        randomization__participant_id=crf.visit.participant_id, handed_over_at__isnull=False
    ).exists()
    if handed_over:
        return {}
    return {
        "__all__": _(
            "The infusion CRF cannot be completed before the pharmacy has handed this "
            "participant's dose over. Save it as a draft; complete it after the hand-over."
        )
    }


def on_crf_saved_weight(sender, *, crf, user, **kwargs) -> None:
    """A Baseline weight corrected after the dose was prepared from another weight: a query on
    the weight for the pharmacist to review the dose, and a notification to the site's
    pharmacists (issue 18). Arm-free: it names the weights, not the product."""
    if crf.crf_code != BASELINE or crf.weight_kg is None:
        return
    preparation = (
        Preparation.objects.filter(randomization__participant_id=crf.visit.participant_id)
        .only("weight_kg", "prepared_at")
        .first()
    )
    if preparation is None or preparation.weight_kg == crf.weight_kg:
        return
    participant = crf.visit.participant
    text = _(
        "Weight corrected to %(now)s kg after the dose was prepared from %(then)s kg: the "
        "pharmacist reviews the dose prepared for %(study_id)s."
    ) % {"now": crf.weight_kg, "then": preparation.weight_kg, "study_id": participant.study_id}
    query = data_services.query_raise(
        participant=participant,
        visit=crf.visit,
        crf_code=BASELINE,
        field_name="weight_kg",
        text=text,
        origin=QueryOrigin.EDIT_CHECK,
        auto_key=f"dose-weight:{preparation.pk}:{crf.weight_kg}",
    )
    pharmacists = get_user_model().objects.filter(
        is_active=True, sites=participant.site, groups__name=Role.PHARMACIST.value
    )
    for pharmacist in pharmacists.distinct():
        data_services.notify(
            recipient=pharmacist,
            text=text,
            link=reverse("datamanagement:query_detail", args=[query.pk]),
        )


def label_use_before(preparation: Preparation):
    return preparation.prepared_at + timedelta(hours=TRIAL.syringe_use_within_hours)


# -- emergency unblinding ----------------------------------------------------------------------


def emergency_event_label(ae: AdverseEvent) -> str:
    """How the triggering event is named in the record and the alerts (no arm, no identity)."""
    kind = "SAE" if ae.serious else "AE"
    return f"{kind} {ae.number}: {ae.preferred_term or ae.verbatim_term} ({ae.onset_date})"


def emergency_unblind(
    *,
    participant: Participant,
    user,
    password: str,
    reason: str,
    adverse_event: AdverseEvent | None = None,
    no_event_justification: str = "",
) -> tuple[EmergencyUnblinding, str]:
    """Record the event, alert at once, and return the arm for the requesting user only.

    The triggering event is one of the participant's adverse events, or none yet with a
    justification; then the medical monitor is alerted at once too (SPEC §10)."""
    no_event_justification = (no_event_justification or "").strip()
    if adverse_event is not None and adverse_event.participant_id != participant.pk:
        raise UnblindingNotAllowed(_("The triggering event is not one of this participant's."))
    if adverse_event is None and not no_event_justification:
        raise UnblindingNotAllowed(
            _(
                "Choose the triggering adverse event, or say why the arm is needed before any "
                "event is recorded. Nothing was unblinded."
            )
        )
    if not user.check_password(password):
        raise PasswordMismatch(_("The password is not correct; nothing was unblinded."))
    with transaction.atomic():
        participant = Participant.objects.select_related("site").get(pk=participant.pk)
        if not sites_for(user).filter(pk=participant.site_id).exists():
            raise NotRandomizable(_("This participant belongs to a site you are not assigned to."))
        randomization = (
            Randomization.objects.select_related("slot").filter(participant=participant).first()
        )
        if randomization is None:
            raise NotRandomizable(
                _("Participant %(id)s is not randomized: there is nothing to unblind.")
                % {"id": participant.study_id}
            )
        label = (
            emergency_event_label(adverse_event)
            if adverse_event is not None
            else _("no event recorded yet")
        )
        event = EmergencyUnblinding(
            participant=participant,
            reason=reason,
            adverse_event=adverse_event,
            no_event_justification=no_event_justification if adverse_event is None else "",
            sae_reference=label[:300],
            requested_at=timezone.now(),
            requested_by=user,
        )
        event.full_clean()
        audit.save_with_reason(event, user=user)
        security_event_record(
            kind=SecurityEventKind.EMERGENCY_UNBLINDING,
            user=user,
            detail={"participant": participant.study_id, "sae_reference": event.sae_reference},
        )
        alert_enqueue(
            kind="emergency_unblinding",
            subject=_("Emergency unblinding: participant %(id)s") % {"id": participant.study_id},
            body=_emergency_body(event, randomization),
            recipients=emergency_recipients(participant),
            participant=participant,
        )
        if adverse_event is None:
            alert_enqueue(
                kind=AlertKind.EMERGENCY_NO_EVENT,
                subject=_("Emergency unblinding with no event recorded yet: participant %(id)s")
                % {"id": participant.study_id},
                body=_emergency_body(event, randomization),
                recipients=[*TRIAL.medical_monitors],
                participant=participant,
            )
    return event, randomization.slot.arm


def _emergency_body(event: EmergencyUnblinding, randomization: Randomization) -> str:
    # Blinded people (the PI, the sponsor) read this: it names the event, never the arm.
    when = timezone.localtime(
        event.requested_at, zoneinfo.ZoneInfo(event.participant.site.time_zone)
    )
    return _(
        "Participant %(id)s (randomization number %(number)s, site %(site)s) was unblinded in "
        "an emergency by %(user)s on %(when)s.\n"
        "Event concerned: %(sae)s\n%(justification)sReason: %(reason)s\n\n"
        "The arm was shown to the requesting investigator only; it is not in this message. "
        "The participant is marked “unblinded” on every report."
    ) % {
        "id": event.participant.study_id,
        "number": randomization.slot.number,
        "site": event.participant.site.code,
        "user": event.requested_by,
        "when": when.strftime("%Y-%m-%d %H:%M %Z"),
        "sae": event.sae_reference,
        "justification": (
            _("Why no event is recorded yet: %(text)s\n") % {"text": event.no_event_justification}
            if event.no_event_justification
            else ""
        ),
        "reason": event.reason,
    }


def emergency_recipients(participant: Participant) -> list[str]:
    """The site's investigators (the PI among them), its pharmacists, the sponsor contact."""
    users = (
        get_user_model()
        .objects.filter(
            is_active=True,
            sites=participant.site,
            groups__name__in=[Role.INVESTIGATOR.value, Role.PHARMACIST.value],
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )
    return [*users, TRIAL.sponsor_safety_contact_email]


# -- database lock and trial-level unblinding --------------------------------------------------


def trial_unblinding_confirm(*, user, password: str) -> TrialUnblinding:
    """One of the two confirmations; the trial is unblinded when both are recorded."""

    if not user.check_password(password):
        raise PasswordMismatch(_("The password is not correct; nothing was confirmed."))
    roles = roles_of(user)
    with transaction.atomic():
        if not database_is_locked():
            raise UnblindingNotAllowed(
                _("Trial-level unblinding needs the database to be locked first.")
            )
        unblinding = TrialUnblinding.objects.select_for_update().first() or TrialUnblinding()
        now = timezone.now()
        if Role.DATA_MANAGER in roles:
            if unblinding.data_manager_confirmed_at:
                raise UnblindingNotAllowed(_("The data manager has already confirmed."))
            if unblinding.statistician_id == user.pk:
                raise UnblindingNotAllowed(_("The two confirmations need two different people."))
            unblinding.data_manager, unblinding.data_manager_confirmed_at = user, now
        elif Role.STATISTICIAN in roles:
            if unblinding.statistician_confirmed_at:
                raise UnblindingNotAllowed(_("The statistician has already confirmed."))
            if unblinding.data_manager_id == user.pk:
                raise UnblindingNotAllowed(_("The two confirmations need two different people."))
            unblinding.statistician, unblinding.statistician_confirmed_at = user, now
        else:
            raise UnblindingNotAllowed(
                _("Only the data manager and the statistician confirm trial-level unblinding.")
            )
        unblinding.save()
        security_event_record(
            kind=SecurityEventKind.TRIAL_UNBLINDING,
            user=user,
            detail={
                "unblinded": bool(
                    unblinding.data_manager_confirmed_at and unblinding.statistician_confirmed_at
                )
            },
        )
    return unblinding
