"""The PDFs say what they should, read back by text extraction (pypdf)."""

import re
from datetime import UTC
from io import BytesIO

import pytest
from pypdf import PdfReader

from kernel.roles import BLINDED_ROLES, Role
from kernel.trial import TRIAL
from outcomes.models import CRF_MODELS

from . import outcomes_factories
from .dashboards_randomization import randomize
from .factories import PASSWORD, ParticipantFactory
from .participants_factories import ScreeningVitalSignsFactory
from .safety_factories import report_sae

pytestmark = pytest.mark.django_db


def _pdf_text(response) -> str:
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    reader = PdfReader(BytesIO(response.content))
    return "\n".join(page.extract_text() for page in reader.pages)


def _pages(response) -> int:
    return len(PdfReader(BytesIO(response.content)).pages)


def _consort_page(response):
    """The page that carries the drawn CONSORT diagram, its text and its rectangles."""
    reader = PdfReader(BytesIO(response.content))
    pages = [page for page in reader.pages if "CONSORT flow diagram" in page.extract_text()]
    assert len(pages) == 1
    page = pages[0]
    content = page.get_contents().get_data().decode("latin-1")
    return " ".join(page.extract_text().split()), len(re.findall(r" re\b", content))


@pytest.fixture
def randomized(site01, make_user):
    coordinator = make_user(Role.COORDINATOR, username="pdf-coordinator")
    participant = ParticipantFactory(site=site01)
    randomize(participant, user=coordinator)
    outcomes_factories.crf(participant, "D0", "crp", crp_mg_l="87.5", entered_value="87.5")
    outcomes_factories.crf(participant, "D0", "crp", crp_mg_l="92", entered_value="92")
    report_sae(participant, coordinator)
    return participant


def test_the_blank_crfs_annotate_every_field_with_its_variable_and_codes(client, make_user, login):
    login(make_user(Role.MONITOR))
    response = client.get("/dashboards/reports/blank-crfs.pdf")
    text = _pdf_text(response)
    assert TRIAL.registry_id in text
    for code, model in CRF_MODELS.items():
        assert f"[{code}]" in text
        assert model._meta.db_table in text
    assert "crp.crp_mg_l" in text
    assert "murray.cxr_quadrants" in text
    assert "mg/L" in text
    assert "1 = Not hospitalized" in text  # a coded field prints its codes
    assert "computed by the EDC" in text  # P/F, Murray points


def test_every_pdf_page_carries_the_header(client, make_user, login):
    user = make_user(Role.INVESTIGATOR, username="header-reader")
    login(user)
    response = client.get("/dashboards/reports/blank-crfs.pdf")
    text = _pdf_text(response)
    pages = _pages(response)
    assert pages > 1
    for n in range(1, pages + 1):
        assert f"Page {n} of {pages}" in text
    assert text.count("Generated ") == pages
    assert "by Test Header-Reader (header-reader)" in text
    assert f"{TRIAL.acronym} · {TRIAL.registry_id}" in text


def test_the_casebook_prints_every_visit_crf_and_audit_summary(
    client, make_user, login, randomized
):
    login(make_user(Role.INVESTIGATOR))
    text = _pdf_text(client.get(f"/dashboards/reports/casebook/{randomized.study_id}.pdf"))
    assert f"Casebook {randomized.study_id}" in text
    for visit in TRIAL.visits:
        assert f"Visit {visit.code} " in text
    assert "crp.crp_mg_l" in text
    assert "92" in text
    assert "created " in text
    assert "1 change, last" in text
    assert "Test correction" in text
    assert "Not started." in text
    assert "Acute respiratory distress syndrome worsening" in text
    assert "Electronic signatures" in text
    assert "No electronic signature has been given on this casebook." in text
    assert "Audit trail summary" in text
    assert randomized.identity.full_name not in text


def test_the_casebook_prints_the_vital_signs_at_screening(client, make_user, login, randomized):
    """Issue 19: a randomized participant's screening vitals, before the visits."""
    login(make_user(Role.INVESTIGATOR))
    url = f"/dashboards/reports/casebook/{randomized.study_id}.pdf"
    text = " ".join(_pdf_text(client.get(url)).split())
    assert "Vital signs at screening Not recorded." in text
    ScreeningVitalSignsFactory(screening=randomized.screening, systolic_mmhg=131)
    text = " ".join(_pdf_text(client.get(url)).split())
    assert text.index("Vital signs at screening") < text.index("Visit D0 ")
    assert "screening.systolic_mmhg 131" in text
    assert "screening.respiratory_support face_mask (Face mask)" in text


def test_the_casebook_prints_each_signature_with_name_utc_time_and_meaning(
    client, make_user, login, randomized
):
    """21 CFR 11.50(b): the printed record shows the signer's name, the date and time and the
    meaning; a signature voided by a later change prints as void."""
    from datamanagement import services as dm_services

    investigator = make_user(Role.INVESTIGATOR, username="pdf-signer")
    d0 = randomized.visits.get(code="D0")

    def sign(level, **kwargs):
        from datamanagement import selectors as dm_selectors

        return dm_services.signature_sign(
            user=investigator,
            password=PASSWORD,
            participant=randomized,
            level=level,
            meaning="accurate_complete",
            opened_versions=dm_selectors.signed_versions(
                level,
                participant=randomized,
                visit=kwargs.get("visit"),
                crf_code=kwargs.get("crf_code", ""),
            ),
            **kwargs,
        )

    crf_signature = sign("crf", visit=d0, crf_code="crp")
    outcomes_factories.crf(randomized, "D0", "crp", crp_mg_l="95", entered_value="95")
    visit_signature = sign("visit", visit=d0)
    casebook_signature = sign("casebook")
    login(investigator)
    text = _pdf_text(client.get(f"/dashboards/reports/casebook/{randomized.study_id}.pdf"))
    for signature in (crf_signature, visit_signature, casebook_signature):
        signature.refresh_from_db()
        utc = signature.signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert utc in text
    flat = " ".join(text.split())
    assert "Electronically signed by Test Pdf-Signer on" in flat
    assert "meaning: I confirm the data are accurate and complete" in flat
    assert flat.count("Electronically signed by Test Pdf-Signer") == 3  # CRF, visit, casebook
    assert "Visit D0" in flat
    assert "CRF C-reactive protein [crp], visit D0" in flat
    assert "VOID since" in flat  # the CRF signature, voided by the correction
    assert flat.count("A new signature is needed") == 2  # in the table and under the CRF
    assert "Audit trail summary" in flat
    assert "Changes after first save" in flat


def test_the_casebook_of_another_site_is_refused(client, make_user, login, site02, randomized):
    login(make_user(Role.INVESTIGATOR, sites=[site02]))
    response = client.get(f"/dashboards/reports/casebook/{randomized.study_id}.pdf")
    assert response.status_code == 404  # as for a participant that does not exist (issue 20)


def test_the_open_dsmb_report_is_pooled(client, make_user, login, randomized):
    login(make_user(Role.SPONSOR))
    text = _pdf_text(client.get("/dashboards/reports/dsmb-open.pdf"))
    assert "open part (blinded, pooled)" in text
    assert "Randomized (n = 1)" in text
    assert "Allocated (arms blinded, pooled)" in text
    assert "Acute respiratory distress syndrome worsening" in text
    for arm in TRIAL.arms:
        assert arm.label not in text


@pytest.mark.parametrize("role", sorted(BLINDED_ROLES, key=lambda r: r.value))
def test_the_closed_dsmb_report_is_refused_to_every_blinded_role(client, make_user, login, role):
    login(make_user(role))
    response = client.get("/dashboards/reports/dsmb-closed.pdf")
    assert response.status_code == 403


def test_the_closed_report_is_refused_even_with_the_permission_if_blinded(client, make_user, login):
    """Two gates: a blinded user who also holds the statistician's role is still refused."""
    from django.contrib.auth.models import Group

    user = make_user(Role.STATISTICIAN, username="two-hats")
    user.groups.add(Group.objects.get(name=Role.SPONSOR.value))
    login(user)
    assert client.get("/dashboards/reports/dsmb-closed.pdf").status_code == 403


def test_the_statistician_gets_the_closed_report(client, make_user, login, randomized):
    login(make_user(Role.STATISTICIAN))
    text = _pdf_text(client.get("/dashboards/reports/dsmb-closed.pdf"))
    assert "closed part (by arm)" in text
    assert "UNBLINDED" in text


def test_the_open_report_draws_the_pooled_consort_diagram(client, make_user, login, randomized):
    """Boxes and arrows (a reportlab Drawing) from the same lines as the page's SVG: one
    column below randomization, no arm."""
    login(make_user(Role.SPONSOR))
    text, boxes = _consort_page(client.get("/dashboards/reports/dsmb-open.pdf"))
    assert "CONSORT flow diagram · pooled (blinded)" in text
    for line in (
        "Assessed for eligibility (n = 1)",
        "Enrolled (n = 1)",
        "Not randomized (n = 0)",
        "Randomized (n = 1)",
        "Allocated (arms blinded, pooled)",
        "Received the infusion (n = 0)",
        "Day-28 visit done (n = 0)",
        "Analysed (n = 1)",
    ):
        assert line in text
    for arm in TRIAL.arms:
        assert arm.label not in text
    # Assessed, excluded, enrolled, not randomized, randomized; allocation, follow-up, analysis.
    assert boxes == 8


def test_the_closed_report_draws_the_consort_diagram_by_arm(client, make_user, login, randomized):
    login(make_user(Role.STATISTICIAN))
    text, boxes = _consort_page(client.get("/dashboards/reports/dsmb-closed.pdf"))
    assert "CONSORT flow diagram · by arm (unblinded)" in text
    arm = randomized.randomization.slot.arm
    for each in TRIAL.arms:
        assert f"Allocated to {each.label}" in text
    assert text.count("Analysed (n = 1)") == 1
    assert text.count("Analysed (n = 0)") == 1
    assert TRIAL.arm(arm).label in text
    assert boxes == 5 + 3 * len(TRIAL.arms)


def test_the_dsmb_reports_count_aes_by_system_organ_class_and_grade(
    client, make_user, login, randomized
):
    """ICH E3 12.2 / the DSMB charter's safety tables: AEs by system organ class and CTCAE
    grade, pooled on the open report and per arm on the closed one."""
    from dashboards import selectors

    from .safety_factories import report_ae

    coordinator = make_user(Role.COORDINATOR, username="soc-coordinator")
    report_ae(randomized, coordinator, ctcae_grade=1)  # Pyrexia: General disorders…
    report_ae(randomized, coordinator, ctcae_grade=2, preferred_term="")  # not yet coded
    scope = selectors.scope_for(make_user(Role.SPONSOR, username="soc-sponsor"))
    rows = {r["soc"]: r for r in selectors.adverse_events_by_soc(scope)}
    respiratory = rows["Respiratory disorders"]
    assert respiratory["grades"] == [0, 0, 0, 1, 0]  # the SAE of the fixture, grade 4
    assert (respiratory["events"], respiratory["participants"]) == (1, 1)
    assert rows[""]["grades"] == [0, 1, 0, 0, 0]
    assert list(rows)[-1] == ""  # the uncoded events come last
    login(make_user(Role.SPONSOR, username="soc-sponsor-2"))
    text = _pdf_text(client.get("/dashboards/reports/dsmb-open.pdf"))
    assert "Adverse events by system organ class and grade" in text
    assert "Respiratory disorders" in text
    assert "not yet coded" in text


def test_the_closed_dsmb_report_counts_aes_by_class_and_grade_per_arm(
    client, make_user, login, randomized
):
    login(make_user(Role.STATISTICIAN))
    closed = _pdf_text(client.get("/dashboards/reports/dsmb-closed.pdf"))
    assert "Adverse events by system organ class and grade" in closed
    assert "Respiratory disorders" in closed  # under the arm the fixture's participant has
    for arm in TRIAL.arms:
        assert arm.label in closed
