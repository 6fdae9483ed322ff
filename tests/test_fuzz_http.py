"""Hostile posts to every form page, through HTTP (issue 12): hypothesis posts each page's real
fields (read from the page itself) with hostile values — those of tests/test_fuzz_forms.py —,
fields left out, fields repeated, made-up fields, and the IDs of site 02's records in fields
and in the URL, as a user of site 01 allowed to post the page. After every example:

- never a server error (status < 500);
- a refused post (anything but a redirect) wrote nothing: every table of the database (audit
  trails included) is as before, apart from the session, django-axes' failure counts and the
  security log, which record refusals on purpose;
- site 02's rows are untouched, whatever the answer, and a post to a site-02 record's URL is
  refused (403 or 404);
- no site-02 identifying text (names, study IDs, screening numbers) is in the answer;
- the raw `<script>alert` / `<img src=x onerror` of the hostile values is never in an answer,
  nor in the pages showing what was stored (detail, list, audit trail).

Then, for each page that stores free text, script is stored on purpose and every page, PDF
and e-mail showing it is read back escaped.

Each example runs in a savepoint rolled back after it, so examples never see each other's
writes. FUZZ_HTTP_EXAMPLES examples per page (small in `make test`; `make fuzz` runs many more).
"""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie
from types import SimpleNamespace

import pytest
from django.core import mail
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from kernel.roles import SITE_SCOPED_ROLES, Role
from kernel.services import roles_sync

from .factories import PASSWORD, ParticipantFactory, SiteFactory, UserFactory
from .fuzz_http import Snapshots, changed, form_fields, posts_to_itself
from .pages import build_world
from .randomization_factories import authenticator, code_now
from .roles_short import SP, SPH, C, D, I, M, P, S
from .test_fuzz_forms import DERANDOMIZE, HOSTILE, SCRIPT, VALUE

pytestmark = pytest.mark.django_db

EXAMPLES = int(os.environ.get("FUZZ_HTTP_EXAMPLES", "10"))
RAW_MARKUP = ("<script>alert", "<img src=x onerror")


# What the examples of each page came to, printed with FUZZ_HTTP_STATS=1 (to see that the
# valid posts the examples start from do get written).
TALLY: dict[str, Counter] = defaultdict(Counter)


class _Rollback(Exception):
    """Raised at the end of each example to roll its savepoint back."""


# -- the world: site 01 where the user works, site 02 whose records are forged -----------------


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module, in a transaction rolled back at its end; each test runs in a
    savepoint inside it, and each example in a savepoint inside that."""
    from participants.models import IdentifyingData

    from .participants_factories import EligibilityFactory, ScreeningFactory

    with django_db_blocker.unblock(), transaction.atomic():
        roles_sync()
        site01 = SiteFactory(code="01", name="Imam Khomeini Hospital Complex, Tehran")
        site02 = SiteFactory(code="02", name="Second site")
        users = {
            role: UserFactory(username=f"fuzz-{role.value}", role=role, sites=[site01])
            for role in Role
        }
        one = build_world(ParticipantFactory(site=site01))
        UserFactory(username="coordinator-02", role=Role.COORDINATOR, sites=[site02])
        two = build_world(ParticipantFactory(site=site02))
        # A screening without consent at each site, for the consent and closing pages.
        fresh = {
            site.code: ScreeningFactory(site=site, screened_by=one.participant.enrolled_by)
            for site in (site01, site02)
        }
        for screening in fresh.values():
            EligibilityFactory(screening=screening)
        # Names that occur nowhere else, so finding one in a page is a leak.
        for identity in IdentifyingData.objects.filter(screening__site=site02):
            IdentifyingData.objects.filter(pk=identity.pk).update(
                full_name=f"Sitetwo Secretname {identity.pk}",
                hospital_record_number=f"HRN-SITETWO-{identity.pk}",
            )
        yield SimpleNamespace(
            site01=site01,
            site02=site02,
            users=users,
            one=one,
            two=two,
            fresh1=fresh["01"],
            fresh2=fresh["02"],
            snapshots=Snapshots(site02),
            forged=_forged_values(site02, two, fresh["02"]),
            secrets=_secrets(site02),
        )
        transaction.set_rollback(True)


def _forged_values(site02, two, fresh2) -> list[str]:
    """The IDs of site 02's records, as a forger would type them into a field."""
    from outcomes.models import Visit

    p = two.participant
    pks = [
        site02.pk,
        p.pk,
        p.screening.pk,
        p.identity.pk,
        two.ae.pk,
        two.query.pk,
        two.icu_stay.pk,
        two.event.pk,
        two.murray.pk,
        two.randomized.pk,
        two.screening.pk,
        fresh2.pk,
        *Visit.objects.filter(participant=p).values_list("pk", flat=True)[:3],
    ]
    texts = [
        p.study_id,
        two.randomized.study_id,
        two.screening.screening_number,
        fresh2.screening_number,
        site02.code,
    ]
    return [str(pk) for pk in pks] + texts


def _secrets(site02) -> list[str]:
    """Texts identifying site 02's people: never in an answer to a user of site 01."""
    from participants.models import IdentifyingData, Participant, Screening

    names = IdentifyingData.objects.filter(screening__site=site02)
    return [
        *names.values_list("full_name", flat=True),
        *names.values_list("national_id", flat=True),
        *names.values_list("hospital_record_number", flat=True),
        *Participant.objects.filter(site=site02).values_list("study_id", flat=True),
        *Screening.objects.filter(site=site02).values_list("screening_number", flat=True),
    ]


# -- the pages ---------------------------------------------------------------------------------


@dataclass
class Target:
    """A page with a POST form: who posts it, where, the same page for a site-02 record, a
    valid post to start from, fields the page shows at another step, and the pages showing what
    it stores."""

    role: Role
    path: callable
    forged: callable | None = None
    valid: callable = lambda w: {}
    extra: tuple[str, ...] = ()
    shows: callable = lambda w: []
    share: float = 1.0  # of EXAMPLES (pages whose success builds a PDF or an export cost more)
    # A success answered with a page rather than a redirect: the template it renders.
    success_template: str = ""
    setup: callable = lambda w: None  # records the page needs beyond the world's
    anonymous: bool = False  # posted before signing in (the sign-in page)
    # Free-text fields: script typed there is stored and read back escaped (test below).
    text: tuple[str, ...] = ()
    # PDFs showing the stored text.
    pdfs: callable = lambda w: []
    mails: bool = False  # whether storing it sends alert e-mails
    # Fields held to harmless values (none now: the locks bugs are fixed).
    tame: dict = field(default_factory=dict)
    files: tuple[str, ...] = field(default=())
    # The page asks a current second factor (the DSMB's decision): the user has an
    # authenticator app and signed in with it; `valid` carries the app's next code.
    second_factor: bool = False


def _code_given(client, user) -> None:
    """The user has an authenticator app and gives its current code, as at sign-in."""
    response = client.post("/account/two-factor/verify/", {"code": code_now(authenticator(user))})
    assert response.status_code == 302, response.content[:300]


def _today():
    return timezone.localdate().isoformat()


def _sid(w):
    return w.one.participant.study_id


def _sid2(w):
    return w.two.participant.study_id


def _p(w):
    return f"/participants/{_sid(w)}/"


def _oc(w, study_id=None):
    return f"/outcomes/participants/{study_id or _sid(w)}"


def _newest_event(w):
    return w.one.participant.study_events.order_by("-pk").first().pk


def _ae_valid(w, serious=False):
    from .safety_factories import ae_data, sae_data

    today = timezone.localdate()
    if serious:
        data = sae_data()
    else:
        data = ae_data(onset_date=today - timedelta(days=2), end_date=today - timedelta(days=1))
    return {
        k: (None if v in (None, False) else "on" if v is True else str(v)) for k, v in data.items()
    }


CRF_TEXT = {
    "ae_assessment": ("notes",),
    "day60_follow_up": ("notes",),
    "murray": ("reason_for_change",),
}

CRF_VALID = {"day60_follow_up": {"confirm_warnings": "on", "warning_reason": "As charted"}}

TARGETS: dict[str, Target] = {
    # participants
    "screen": Target(
        C,
        lambda w: "/participants/screen/",
        valid=lambda w: {
            "site": str(w.site01.pk),
            "screened_on": _today(),
            "full_name": "Maryam Karimi",
            "national_id": "0499370899",
            "hospital_record_number": "IKHC-123456",
            "date_of_birth": "1980-05-01",
            "sex": "female",
            "phone": "+98 912 000 0000",
            "address": "Tehran",
            "submission_token": str(uuid.uuid4()),
        },
        shows=lambda w: ["/participants/screening/"],
        text=("full_name", "address"),
    ),
    "eligibility": Target(
        C,
        lambda w: f"/participants/{w.one.screening.screening_number}/eligibility/",
        lambda w: f"/participants/{w.two.screening.screening_number}/eligibility/",
        valid=lambda w: {"reason_for_change": "Typo in the PaO2"},
        shows=lambda w: [f"/participants/{w.one.screening.screening_number}/"],
    ),
    "eligibility confirm": Target(
        I,
        lambda w: f"/participants/{w.one.screening.screening_number}/eligibility/confirm/",
        lambda w: f"/participants/{w.two.screening.screening_number}/eligibility/confirm/",
    ),
    "consent": Target(
        C,
        lambda w: f"/participants/{w.fresh1.screening_number}/consent/",
        lambda w: f"/participants/{w.fresh2.screening_number}/consent/",
        valid=lambda w: {
            "consented_at": f"{w.fresh1.screened_on.isoformat()}T15:00",
            "signer": "participant",
            "witness_name": "Ward Nurse",
            "scanned_form_reference": "SCAN-1",
        },
        shows=lambda w: [
            f"/participants/{w.fresh1.screening_number}/",
            f"/audit/participants.consent/{w.fresh1.consent.pk}/",
        ],
        text=("witness_name", "scanned_form_reference"),
    ),
    "screening vital signs": Target(
        C,
        lambda w: f"/participants/{w.fresh1.screening_number}/vital-signs/",
        lambda w: f"/participants/{w.fresh2.screening_number}/vital-signs/",
        valid=lambda w: {
            "measured_on": w.fresh1.screened_on.isoformat(),
            "measured_at": "09:30",
            "temperature_c": "37.2",
            "heart_rate_bpm": "96",
            "systolic_mmhg": "118",
            "diastolic_mmhg": "72",
            "respiratory_rate": "26",
            "spo2_percent": "82",  # outside the usual range: confirmed with a reason
            "fio2": "0.40",
            "fio2_unit": "fraction",
            "respiratory_support": "face_mask",
            "confirm_warnings": "on",
            "warning_reason": "Known hypoxaemia",
        },
        extra=("confirm_warnings", "warning_reason"),
        shows=lambda w: [f"/participants/{w.fresh1.screening_number}/"],
        text=("warning_reason",),
    ),
    "enroll": Target(
        C,
        lambda w: f"/participants/{w.one.screening.screening_number}/enroll/",
        lambda w: f"/participants/{w.two.screening.screening_number}/enroll/",
    ),
    "not enrolled": Target(
        C,
        lambda w: f"/participants/{w.fresh1.screening_number}/not-enrolled/",
        lambda w: f"/participants/{w.fresh2.screening_number}/not-enrolled/",
        valid=lambda w: {"reason": "declined", "detail": "Family declined"},
        shows=lambda w: ["/participants/screening/", f"/participants/{w.fresh1.screening_number}/"],
        text=("detail",),
    ),
    "withdraw": Target(
        C,
        lambda w: f"{_p(w)}withdraw/",
        lambda w: f"/participants/{_sid2(w)}/withdraw/",
        valid=lambda w: {"withdrawn_on": _today(), "scope": "follow_up", "reason": "Moved"},
        shows=lambda w: [
            _p(w),
            f"/audit/participants.consentwithdrawal/{w.one.participant.withdrawal.pk}/",
        ],
        text=("reason",),
    ),
    "identity edit": Target(
        C,
        lambda w: f"{_p(w)}identity/edit/",
        lambda w: f"/participants/{_sid2(w)}/identity/edit/",
        valid=lambda w: {"full_name": "Changed Name", "reason_for_change": "Spelling"},
        shows=lambda w: [
            _p(w),
            f"/audit/participants.identifyingdata/{w.one.participant.identity.pk}/",
        ],
        text=("full_name", "address", "reason_for_change"),
    ),
    # randomization
    "randomize": Target(
        C,
        lambda w: f"/randomization/participant/{_sid(w)}/randomize/",
        lambda w: f"/randomization/participant/{_sid2(w)}/randomize/",
        valid=lambda w: {"respiratory_support": "nasal_cannula"},
        extra=("confirm_step", "confirm"),
    ),
    "emergency unblinding": Target(
        I,
        lambda w: f"/randomization/participant/{w.one.randomized.study_id}/unblind/",
        lambda w: f"/randomization/participant/{w.two.randomized.study_id}/unblind/",
        valid=lambda w: {
            "password": PASSWORD,
            "reason": "Anaphylaxis",
            "adverse_event": "none",
            "no_event_justification": "Arrest; the SAE is being entered",
        },
        shows=lambda w: [f"/randomization/participant/{w.one.randomized.study_id}/"],
        success_template="randomization/unblinded_result.html",
        text=("reason", "no_event_justification"),
    ),
    "list generate": Target(S, lambda w: "/randomization/lists/generate/"),
    "list import": Target(S, lambda w: "/randomization/lists/import/", files=("file",)),
    "list CSV": Target(S, lambda w: f"/randomization/lists/{w.one.rlist.pk}/csv/"),
    "phase gate": Target(
        S,
        lambda w: "/randomization/phase-gate/",
        # "Not approved": an approval needs phase I complete (tests/test_randomization_phase_gate).
        valid=lambda w: {
            "review_date": _today(),
            "decision": "not_approved",
            "document_reference": "DSMB-1",
            "password": PASSWORD,
            "otp_code": code_now(authenticator(w.users[S]), later_steps=1),
        },
        shows=lambda w: ["/randomization/phase-gate/"],
        text=("document_reference",),
        second_factor=True,
    ),
    "pharmacy preparation": Target(
        P,
        lambda w: f"/randomization/pharmacy/{w.one.randomized.study_id}/",
        lambda w: f"/randomization/pharmacy/{w.two.randomized.study_id}/",
        valid=lambda w: {
            "concentration_million_per_ml": "100",
            "lot_number": "LOT-1",
            "checked_by": "Second Pharmacist",
            "prepare": "1",
        },
        extra=("prepare", "calculate", "handover", "handed_over_to"),
        shows=lambda w: [
            f"/randomization/pharmacy/{w.one.randomized.study_id}/label/",
            "/randomization/pharmacy/",
        ],
        text=("lot_number", "checked_by"),
    ),
    "trial unblinding": Target(
        D,
        lambda w: "/randomization/trial-unblinding/",
        valid=lambda w: {"password": PASSWORD, "confirm": "1"},
        extra=("confirm", "lock"),
    ),
    # outcomes
    **{
        f"CRF {visit} {crf}": Target(
            C,
            lambda w, v=visit, c=crf: f"{_oc(w)}/visits/{v}/{c}/",
            lambda w, v=visit, c=crf: f"{_oc(w, _sid2(w))}/visits/{v}/{c}/",
            valid=lambda w, c=crf: {
                "reason_for_change": "Corrected from the chart",
                **CRF_VALID.get(c, {}),
            },
            extra=("action",),
            text=CRF_TEXT.get(crf, ()),
            pdfs=lambda w: [f"/dashboards/reports/casebook/{_sid(w)}.pdf"],
            shows=lambda w, v=visit, c=crf: [
                f"{_oc(w)}/visits/{v}/",
                f"/data/participants/{_sid(w)}/visits/{v}/{c}/",
                *([f"/audit/outcomes.murray/{w.one.murray.pk}/"] if c == "murray" else []),
            ],
        )
        for visit, crf in [
            ("D0", "baseline"),
            ("D0", "infusion"),
            ("D0", "blood_gas"),
            ("D0", "murray"),
            ("D0", "crp"),
            ("D0", "clinical_status"),
            ("D0", "vitals_pre"),
            ("D0", "safety_lab"),
            ("D2", "ae_assessment"),
            ("D60", "day60_follow_up"),
        ]
    },
    "visit missed": Target(
        C,
        lambda w: f"{_oc(w)}/visits/D4/missed/",
        lambda w: f"{_oc(w, _sid2(w))}/visits/D4/missed/",
        valid=lambda w: {"reason": "Transferred to another hospital"},
        shows=lambda w: [f"{_oc(w)}/visits/", f"{_oc(w)}/visits/D4/"],
        text=("reason",),
    ),
    "ICU stay new": Target(
        C,
        lambda w: f"{_oc(w)}/icu-stays/new/",
        lambda w: f"{_oc(w, _sid2(w))}/icu-stays/new/",
        shows=lambda w: [f"{_oc(w)}/visits/"],
    ),
    "ICU stay edit": Target(
        C,
        lambda w: f"{_oc(w)}/icu-stays/{w.one.icu_stay.pk}/",
        lambda w: f"{_oc(w)}/icu-stays/{w.two.icu_stay.pk}/",
        valid=lambda w: {"reason_for_change": "Wrong day"},
        shows=lambda w: [f"{_oc(w)}/visits/", f"/audit/outcomes.icustay/{w.one.icu_stay.pk}/"],
        text=("reason_for_change",),
    ),
    "event new": Target(
        C,
        lambda w: f"{_oc(w)}/events/new/",
        lambda w: f"{_oc(w, _sid2(w))}/events/new/",
        valid=lambda w: {"kind": "lost_to_follow_up", "occurred_on": _today(), "details": "Fell"},
        shows=lambda w: [f"{_oc(w)}/visits/", f"/audit/outcomes.studyevent/{_newest_event(w)}/"],
        text=("details",),
    ),
    "event edit": Target(
        C,
        lambda w: f"{_oc(w)}/events/{w.one.event.pk}/",
        lambda w: f"{_oc(w)}/events/{w.two.event.pk}/",
        valid=lambda w: {"reason_for_change": "Wrong day"},
        shows=lambda w: [f"{_oc(w)}/visits/", f"/audit/outcomes.studyevent/{w.one.event.pk}/"],
        text=("details", "reason_for_change"),
    ),
    "daily status": Target(
        C,
        lambda w: f"{_oc(w)}/daily-status/",
        lambda w: f"{_oc(w, _sid2(w))}/daily-status/",
        valid=lambda w: {"d1": "5", "d2": "4", "save_day": "all", "reason": "From the chart"},
        extra=("save_day",),
        shows=lambda w: [f"{_oc(w)}/visits/"],
    ),
    "end-of-study disposition": Target(
        C,
        lambda w: f"{_oc(w)}/disposition/",
        lambda w: f"{_oc(w, _sid2(w))}/disposition/",
        valid=lambda w: {
            "outcome": "lost_to_follow_up",
            "last_contact_on": _today(),
            "vital_status_d28": "unknown",
            "vital_status_d60": "unknown",
            "notes": "No answer by telephone",
        },
        shows=lambda w: [f"{_oc(w)}/visits/", f"{_oc(w)}/disposition/"],
        text=("notes",),
    ),
    "medication new": Target(
        C,
        lambda w: f"{_oc(w)}/medications/new/",
        lambda w: f"{_oc(w, _sid2(w))}/medications/new/",
        valid=lambda w: {
            "category": "remdesivir",
            "drug": "Remdesivir",
            "indication": "COVID-19",
            "dose": "200",
            "dose_unit": "mg",
            "route": "iv",
            "frequency": "qd",
            "started_on": _today(),
            "ongoing": "on",
        },
        shows=lambda w: [f"{_oc(w)}/visits/"],
        text=("drug", "indication"),
        pdfs=lambda w: [f"/dashboards/reports/casebook/{_sid(w)}.pdf"],
    ),
    "medication edit": Target(
        C,
        lambda w: f"{_oc(w)}/medications/{w.one.medication.pk}/",
        lambda w: f"{_oc(w)}/medications/{w.two.medication.pk}/",
        valid=lambda w: {"reason_for_change": "Wrong dose"},
        shows=lambda w: [
            f"{_oc(w)}/visits/",
            f"/audit/outcomes.concomitantmedication/{w.one.medication.pk}/",
        ],
        text=("drug", "indication", "reason_for_change"),
    ),
    # safety
    "AE report": Target(
        C,
        lambda w: f"/safety/participants/{_sid(w)}/ae/new/",
        lambda w: f"/safety/participants/{_sid2(w)}/ae/new/",
        valid=_ae_valid,
        shows=lambda w: [f"/safety/participants/{_sid(w)}/ae/", "/safety/"],
        text=("verbatim_term",),
        pdfs=lambda w: ["/safety/listing.pdf"],
    ),
    "SAE report": Target(
        C,
        lambda w: f"/safety/participants/{_sid(w)}/ae/new/",
        lambda w: f"/safety/participants/{_sid2(w)}/ae/new/",
        valid=lambda w: _ae_valid(w, serious=True),
        shows=lambda w: [f"/safety/participants/{_sid(w)}/ae/", "/safety/"],
        text=("verbatim_term",),
        pdfs=lambda w: ["/safety/listing.pdf"],
        mails=True,
    ),
    "AE edit": Target(
        C,
        lambda w: f"/safety/ae/{w.one.ae.pk}/edit/",
        lambda w: f"/safety/ae/{w.two.ae.pk}/edit/",
        valid=lambda w: {"verbatim_term": "Corrected term", "reason_for_change": "Typo"},
        shows=lambda w: [
            f"/safety/ae/{w.one.ae.pk}/",
            f"/audit/safety.adverseevent/{w.one.ae.pk}/",
        ],
        text=("verbatim_term", "reason_for_change"),
        pdfs=lambda w: ["/safety/listing.pdf", f"/safety/ae/{w.one.ae.pk}/reports/0/cioms.pdf"],
    ),
    "SAE follow-up": Target(
        C,
        lambda w: f"/safety/ae/{w.one.ae.pk}/follow-up/",
        lambda w: f"/safety/ae/{w.two.ae.pk}/follow-up/",
        valid=lambda w: {"narrative": "Improving on day 3"},
        shows=lambda w: [f"/safety/ae/{w.one.ae.pk}/"],
        text=("narrative",),
        pdfs=lambda w: [f"/safety/ae/{w.one.ae.pk}/reports/1/cioms.pdf"],
        mails=True,
    ),
    "AE causality signature": Target(
        I,
        lambda w: f"/safety/ae/{w.one.ae.pk}/sign/",
        lambda w: f"/safety/ae/{w.two.ae.pk}/sign/",
        valid=lambda w: {"relationship": "unlikely", "reason": "Timing", "password": PASSWORD},
        shows=lambda w: [
            f"/safety/ae/{w.one.ae.pk}/",
            f"/audit/safety.adverseevent/{w.one.ae.pk}/",
        ],
        text=("reason",),
    ),
    # The sponsor's safety physician (issue 19), trial-wide: no site-02 forgery to refuse. The
    # world's SUSAR has its case (tests/pages_safety.py), so these pages show their forms.
    "SUSAR expedited report": Target(
        SPH,
        lambda w: f"/safety/susar/{w.one.ae.pk}/expedited-report/",
        valid=lambda w: {"reference": "IRCT-SUSAR-1"},
        shows=lambda w: [f"/safety/susar/{w.one.ae.pk}/"],
        text=("reference",),
    ),
    "SUSAR completing report": Target(
        SPH,
        lambda w: f"/safety/susar/{w.one.ae.pk}/completing-report/",
        # Refused until the 7-day report is recorded: hostile posts only, nothing stored.
        valid=lambda w: {"reference": "IRCT-SUSAR-1b"},
    ),
    # data management
    "query new": Target(
        M,
        lambda w: f"/data/participants/{_sid(w)}/queries/new/?visit=D0&crf=murray&field=fio2",
        lambda w: f"/data/participants/{_sid2(w)}/queries/new/?visit=D0&crf=murray&field=fio2",
        valid=lambda w: {"text": "Please check the FiO2"},
        shows=lambda w: ["/data/queries/", f"/data/participants/{_sid(w)}/"],
        text=("text",),
    ),
    "query step": Target(
        M,
        lambda w: f"/data/queries/{w.one.query.pk}/",
        lambda w: f"/data/queries/{w.two.query.pk}/",
        valid=lambda w: {f"q{w.one.query.pk}-text": "Still wrong", "action": "close"},
        extra=("action",),
        shows=lambda w: ["/data/queries/"],
    ),
    "query answer": Target(
        C,
        lambda w: f"/data/queries/{w.one.query.pk}/",
        lambda w: f"/data/queries/{w.two.query.pk}/",
        valid=lambda w: {f"q{w.one.query.pk}-text": "Checked: 0.6", "action": "answer"},
        extra=("action",),
        shows=lambda w: ["/data/queries/"],
        text=("q{query}-text",),
    ),
    "query worklist bulk": Target(
        D,
        lambda w: "/data/worklists/queries/?state=waiting",
        # One page for every site: a site-02 query is simply not listed (ticking it changes
        # nothing), tested in tests/test_worklists.py.
        valid=lambda w: {
            "query": str(w.one.query.pk),
            "action": "close",
            "text": "Closed after the source review",
        },
        extra=("action", "query"),
        shows=lambda w: [f"/data/queries/{w.one.query.pk}/"],
        text=("text",),
    ),
    "SDV": Target(
        M,
        lambda w: f"/data/participants/{_sid(w)}/sdv/",
        lambda w: f"/data/participants/{_sid2(w)}/sdv/",
    ),
    # Issue 19: the vital signs at screening, queried and signed as a CRF is.
    "query new on screening vitals": Target(
        M,
        lambda w: f"/data/participants/{_sid(w)}/queries/new/?crf=screening_vitals&field=fio2",
        lambda w: f"/data/participants/{_sid2(w)}/queries/new/?crf=screening_vitals&field=fio2",
        valid=lambda w: {"text": "Please check the FiO2 at screening"},
        shows=lambda w: [
            "/data/queries/",
            f"/data/participants/{_sid(w)}/records/screening_vitals/",
        ],
        setup=lambda w: _screening_vitals(w),
        text=("text",),
    ),
    "signature on screening vitals": Target(
        I,
        lambda w: f"/data/participants/{_sid(w)}/sign/?level=crf&crf=screening_vitals",
        lambda w: f"/data/participants/{_sid2(w)}/sign/?level=crf&crf=screening_vitals",
        valid=lambda w: {"password": PASSWORD},
        extra=("level", "visit", "crf"),
        setup=lambda w: _screening_vitals(w),
    ),
    "signature": Target(
        I,
        lambda w: f"/data/participants/{_sid(w)}/sign/?level=crf&visit=D0&crf=murray",
        lambda w: f"/data/participants/{_sid2(w)}/sign/?level=crf&visit=D0&crf=murray",
        valid=lambda w: {"password": PASSWORD},
        extra=("level", "visit", "crf"),
    ),
    "locks": Target(
        D,
        lambda w: "/data/locks/",
        valid=lambda w: {"do": "lock", "level": "participant", "study_id": _sid(w)},
        extra=("do", "lock", "next"),
        shows=lambda w: ["/data/locks/", "/data/audit/"],
        setup=lambda w: _locks(w),
        text=("reason",),
    ),
    # exports, dashboards
    "export start": Target(SP, lambda w: "/exports/new/", share=0.25),
    "casebook PDF request": Target(
        C,
        lambda w: f"/dashboards/reports/prepare/casebook/?study_id={_sid(w)}",
        valid=lambda w: {"study_id": _sid(w)},
        extra=("study_id", "site"),
        share=0.25,
    ),
    "blank CRFs PDF request": Target(
        C, lambda w: "/dashboards/reports/prepare/blank-crfs/", extra=("site",), share=0.25
    ),
    # the user's own
    "sign-in": Target(
        C,
        lambda w: "/login/",
        valid=lambda w: {"username": w.users[C].username, "password": PASSWORD},
        extra=("next",),
        anonymous=True,
    ),
    "preferences": Target(C, lambda w: "/preferences/"),
    "password change": Target(
        C,
        lambda w: "/password/",
        valid=lambda w: {
            "old_password": PASSWORD,
            "new_password1": "a much longer passphrase 7",
            "new_password2": "a much longer passphrase 7",
        },
    ),
    "sign out everywhere": Target(C, lambda w: "/sign-out-everywhere/"),
    # A code cannot be known in advance: nearly every example is a refusal (its one write is
    # the security log's line, which the snapshot leaves out on purpose).
    "two-factor set-up": Target(
        C,
        lambda w: "/account/two-factor/",
        extra=("next",),
        success_template="registration/two_factor_backup_codes.html",
    ),
    "sessions": Target(C, lambda w: "/account/sessions/", extra=("end",)),
    # API tokens (issue 22): a success shows the new token once, on the page itself.
    "api tokens": Target(
        C,
        lambda w: "/account/api-tokens/",
        valid=lambda w: {"action": "create", "name": "R on my laptop", "days": "30"},
        extra=("token",),
        shows=lambda w: ["/account/api-tokens/"],
        success_template="api/token_created.html",
        text=("name",),
    ),
}


def _screening_vitals(w):
    """The vital signs at screening of the site-01 and site-02 participants."""
    from participants.models import ScreeningVitalSigns

    from .participants_factories import ScreeningVitalSignsFactory

    for participant in (w.one.participant, w.two.participant):
        if not ScreeningVitalSigns.objects.filter(screening=participant.screening).exists():
            ScreeningVitalSignsFactory(screening=participant.screening)


def _locks(w):
    """A CRF lock at site 01 and a casebook lock at site 02, for the unlock forms."""
    from datamanagement import services
    from outcomes.models import Visit

    user = w.users[D]
    visit = Visit.objects.get(participant=w.one.participant, code="D0")
    services.lock_create(
        user=user,
        level="crf",
        participant=w.one.participant,
        visit=visit,
        crf_code="crp",
        reason="CRF signed",
    )
    services.lock_create(
        user=user, level="participant", participant=w.two.participant, reason="Casebook signed"
    )


# Mass assignment: fields no form has, that a forger may add.
MADE_UP_FIELDS = ["site", "participant", "study_id", "pk", "id", "visit", "user", "entered_by"]


def _url_name(path: str) -> str:
    from django.urls import resolve

    match = resolve(_strip_query(path))
    return f"{match.namespace}:{match.url_name}" if match.namespace else match.url_name


def test_every_page_with_a_form_that_posts_is_fuzzed(client, world):
    """Each page of the role × URL matrix, opened by a role allowed there: if it has a form
    posting to itself, its URL is among TARGETS (a new form page is added there, or this fails).
    """
    from .pages import PAGES

    fuzzed = {_url_name(t.path(world)) for t in TARGETS.values()}
    missing = set()
    for name, build, allowed in PAGES.values():
        if name in fuzzed or name in missing:
            continue
        path = build(world.one)
        client.force_login(world.users[sorted(allowed, key=lambda r: r.value)[0]])
        response = client.get(path)
        if response.status_code == 200 and "html" in response.get("Content-Type", ""):
            if posts_to_itself(_body(response), path):
                missing.add(name)
    assert not missing, f"add these form pages to TARGETS: {sorted(missing)}"


# -- one example -------------------------------------------------------------------------------


def _strip_query(path: str) -> str:
    return path.split("?", 1)[0]


def _body(response) -> str:
    content = b"".join(response) if response.streaming else response.content
    return content.decode("utf-8", errors="replace")


def _assert_no_raw_markup(body: str, where: str) -> None:
    for marker in RAW_MARKUP:
        assert marker not in body, (
            f"{where}: unescaped {marker!r}: {body[body.find(marker) - 200 :][:400]}"
        )


def _draw_post(draw, w, target: Target, fields) -> dict:
    baseline = {}
    for name, f in fields.items():
        if f.initial and f.kind not in ("button",):
            baseline[name] = (
                f.initial if f.kind in ("checkbox", "select-multiple") else f.initial[0]
            )
    baseline.update(target.valid(w))
    baseline = {k: v for k, v in baseline.items() if v is not None}  # None: left unticked
    names = sorted(set(fields) | set(baseline) | set(target.extra))
    post: dict = {}
    # How many fields to spoil: none (the valid post, to reach the write), a few, or most.
    rate = draw(st.sampled_from([0, 1, 3, 10]))
    for name in names:
        f = fields.get(name)
        options = [o for o in (f.options if f else []) if o != ""]
        spoil = draw(st.integers(0, 9)) < rate
        if name in target.tame:  # a known bug: only harmless values
            tame = target.tame[name]
            values = tame(w) if callable(tame) else tame
            post[name] = draw(st.sampled_from(values)) if spoil else baseline.get(name, values[0])
            continue
        if not spoil:
            if name in baseline:
                post[name] = baseline[name]
            continue
        move = draw(st.integers(0, 6))
        if move == 0:
            continue  # left out
        if move == 1 and options:
            post[name] = draw(st.sampled_from(options))  # a real choice beside spoilt neighbours
        elif move == 2:
            post[name] = draw(st.sampled_from(w.forged))  # another site's ID
        elif move == 3:
            post[name] = [str(baseline.get(name, "")), draw(VALUE)]  # repeated
        elif move == 4:
            post[name] = draw(st.sampled_from(HOSTILE))
        else:
            post[name] = draw(VALUE)
    if draw(st.integers(0, 3)) == 0:
        post[draw(st.sampled_from(MADE_UP_FIELDS))] = draw(
            st.one_of(st.sampled_from(w.forged), VALUE)
        )
    for name in target.files:
        if name in post:
            content = post[name] if isinstance(post[name], str) else "\n".join(post[name])
            post[name] = SimpleUploadedFile("list.csv", content.encode("utf-8"), "text/csv")
    return post


def _posted_text(path: str, post: dict) -> str:
    parts = [path]
    for value in post.values():
        parts += [str(v) for v in (value if isinstance(value, list) else [value])]
    return "\n".join(parts)


def _check_example(client, w, key: str, target: Target, draw, fields) -> None:
    scoped = target.role in SITE_SCOPED_ROLES
    forging = target.forged is not None and draw(st.integers(0, 5)) == 0
    path = (target.forged if forging else target.path)(w)
    post = _draw_post(draw, w, target, fields)
    as_json = draw(st.integers(0, 19)) == 0  # a body the form parser does not read

    cache.clear()  # no rate limit carried over from the previous example
    mail.outbox = []
    cookies = client.cookies  # the signed-in session, whose row the rollback restores
    client.cookies = SimpleCookie(cookies)
    try:
        with transaction.atomic():
            before, site_before = w.snapshots.everything(), w.snapshots.site_rows()
            if as_json:
                response = client.post(
                    path, json.dumps({k: str(v) for k, v in post.items()}), "application/json"
                )
            else:
                response = client.post(path, post)
            body = _body(response)
            after, site_after = w.snapshots.everything(), w.snapshots.site_rows()
            outcome = "forged URL" if forging else str(response.status_code)
            where = f"{key}: POST {path} {post!r:.600} → {response.status_code}"

            assert response.status_code < 500, where
            _assert_no_raw_markup(body, where)
            if scoped:
                assert not changed(site_before, site_after), (
                    f"{where}: site 02 changed: {changed(site_before, site_after)}"
                )
                posted = _posted_text(path, post)
                for secret in w.secrets:
                    if secret not in posted:
                        assert secret not in body, f"{where}: site-02 {secret!r} in the answer"
            redirected = response.status_code in (301, 302, 303) or (
                target.success_template
                and target.success_template in {t.name for t in response.templates}
            )
            if forging:
                assert response.status_code in (403, 404), f"{where}: a site-02 record"
            if not redirected or forging:
                assert not changed(before, after), (
                    f"{where}: refused yet wrote {changed(before, after)}"
                )
            elif changed(before, after):
                outcome = "written"
            event(outcome)
            TALLY[key][outcome] += 1
            if redirected and changed(before, after) and "<" in _posted_text("", post):
                # Accepted and stored: the pages showing it must escape it.
                shows = [
                    *target.shows(w),
                    *([response["Location"]] if response.has_header("Location") else []),
                ]
                for shown in shows:
                    page = client.get(shown)
                    assert page.status_code < 500, f"{where}: GET {shown}"
                    _assert_no_raw_markup(_body(page), f"{where}: GET {shown}")
            raise _Rollback
    except _Rollback:
        pass
    finally:
        client.cookies = cookies  # whatever the example did to the session (signed out...)


@pytest.mark.parametrize("key", sorted(TARGETS))
def test_hostile_posts_to_a_page_never_fail_write_half_or_reach_site_02(client, world, key):
    target = TARGETS[key]
    target.setup(world)
    if not target.anonymous:
        client.force_login(world.users[target.role])
    if target.second_factor:
        _code_given(client, world.users[target.role])
    page = client.get(target.path(world))
    assert page.status_code == 200, f"{key}: GET {target.path(world)} → {page.status_code}"
    fields = form_fields(_body(page), target.path(world))
    assert fields or target.extra or key in _NO_FIELDS, f"{key}: no form found on the page"

    @settings(
        max_examples=max(1, round(EXAMPLES * target.share)),
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        derandomize=DERANDOMIZE,
        database=None,
    )
    @given(st.data())
    def check(data):
        _check_example(client, world, key, target, data.draw, fields)

    check()
    if os.environ.get("FUZZ_HTTP_STATS"):
        print(f"\n{key}: {dict(TALLY[key])}")


def _pdf_text(content: bytes) -> str:
    from io import BytesIO

    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


@pytest.mark.parametrize("key", sorted(k for k, t in TARGETS.items() if t.text))
def test_script_typed_into_free_text_is_stored_and_shown_escaped_on_every_page_pdf_and_mail(
    client, world, key, django_capture_on_commit_callbacks
):
    """Where a page keeps free text (CRF notes, AE verbatim, query text, reasons for change,
    screening names...), script typed there is stored as typed and every page showing it —
    the record, its list, its audit trail —, every PDF and every e-mail carries it inert."""
    target = TARGETS[key]
    target.setup(world)
    client.force_login(world.users[target.role])
    if target.second_factor:
        _code_given(client, world.users[target.role])
    path = target.path(world)
    fields = form_fields(_body(client.get(path)), path)
    post = {
        name: (f.initial if f.kind in ("checkbox", "select-multiple") else f.initial[0])
        for name, f in fields.items()
        if f.initial and f.kind != "button"
    }
    post |= target.valid(world)
    post = {k: v for k, v in post.items() if v is not None}
    texts = [name.format(query=world.one.query.pk) for name in target.text]
    post |= {name: f"{SCRIPT} {name}" for name in texts}
    mail.outbox = []
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(path, post)
    form = (response.context or {}).get("form") if response.status_code == 200 else None
    assert response.status_code == 302 or target.success_template, (
        f"{key}: refused {response.status_code}: {form.errors if form else _body(response)[:300]}"
    )
    _assert_no_raw_markup(_body(response), key)
    shown_escaped = False
    for shown in [*target.shows(world), response.get("Location", "")]:
        if not shown:
            continue
        body = _body(client.get(shown))
        _assert_no_raw_markup(body, f"{key}: GET {shown}")
        shown_escaped |= "&lt;script&gt;alert" in body
    assert shown_escaped, f"{key}: the stored text is on none of {target.shows(world)}"
    for pdf_path in target.pdfs(world):
        pdf = client.get(pdf_path)
        assert pdf.status_code == 200, f"{key}: GET {pdf_path} → {pdf.status_code}"
        text = _pdf_text(_body_bytes(pdf))
        _assert_no_raw_markup(text.replace(SCRIPT, ""), f"{key}: {pdf_path}")
    assert mail.outbox or not target.mails, f"{key}: no alert e-mail sent"
    if target.mails:  # the data manager's outbox page shows the alerts' subjects and bodies
        client.force_login(world.users[D])
        _assert_no_raw_markup(_body(client.get("/safety/alerts/")), f"{key}: the alert outbox")
    for message in mail.outbox:
        assert message.content_subtype == "plain", f"{key}: an HTML e-mail: {message.subject}"
        for content, mimetype in getattr(message, "alternatives", []):
            _assert_no_raw_markup(str(content), f"{key}: e-mail {message.subject} ({mimetype})")


def _body_bytes(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


# Pages whose form is a bare button (nothing typed).
_NO_FIELDS = {"eligibility confirm", "enroll", "list CSV", "sign out everywhere", "SDV"}


# -- what the fuzzing found ----------------------------------------------------------------------
# The locks page passed the posted `next` to redirect() (a 500 after the lock was committed for
# text that is no URL, and an open redirect) and a lock ID that is no number to the ORM (a 500):
# fixed in datamanagement.views.locks (kernel.redirects); these stay as regression tests.


@pytest.mark.parametrize("next_", ["9999-12-31T23:59", " ", "not a page"])
def test_locks_next_that_is_no_url_neither_fails_nor_half_writes(client, world, next_):
    from datamanagement.models import Lock

    client.raise_request_exception = False
    client.force_login(world.users[D])
    locks = Lock.objects.count()
    response = client.post(
        "/data/locks/",
        {"do": "lock", "level": "participant", "study_id": _sid(world), "next": next_},
    )
    assert response.status_code < 500
    assert response.status_code == 302 or Lock.objects.count() == locks


def test_locks_next_never_redirects_to_another_site(client, world):
    client.force_login(world.users[D])
    response = client.post(
        "/data/locks/",
        {
            "do": "lock",
            "level": "participant",
            "study_id": _sid(world),
            "reason": "Casebook signed",  # a reason is required for every lock (issue 20)
            "next": "https://evil.example/phish",
        },
    )
    assert response.status_code == 302
    assert not response["Location"].startswith(("https://evil", "//evil"))


@pytest.mark.parametrize("lock", ["abc", "1.5", ""])
def test_unlock_with_a_lock_id_that_is_no_number_is_not_found_not_a_server_error(
    client, world, lock
):
    client.raise_request_exception = False
    client.force_login(world.users[D])
    response = client.post("/data/locks/", {"do": "unlock", "lock": lock, "reason": "Re-open"})
    assert response.status_code == 404
