"""The CIOMS I form and the AE listing, read back with a PDF text extractor (pypdf)."""

from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader

from kernel import concurrency
from kernel.roles import Role
from safety import services

from .factories import PASSWORD, ParticipantFactory
from .safety_factories import report_ae, report_susar

pytestmark = pytest.mark.django_db


def pdf_text(content: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(BytesIO(content)).pages)


@pytest.fixture
def participant(site01):
    return ParticipantFactory(
        site=site01,
        identity__full_name="Maryam Ahmadi-Testname",
        identity__national_id="0098765432",
        identity__date_of_birth=date(1970, 1, 15),
    )


def test_the_cioms_form_reads_like_the_official_sections_and_stays_blinded(
    client, login, make_user, participant
):
    investigator = make_user(Role.INVESTIGATOR)
    ae = report_susar(participant, investigator)
    services.ae_causality_sign(
        ae=ae,
        user=investigator,
        password=PASSWORD,
        relationship="probable",
        opened_version=concurrency.version_of(ae),
    )
    services.sae_follow_up_submit(
        ae=ae,
        user=investigator,
        narrative="Tryptase raised",
        values={},
        final=False,
        opened_version=concurrency.version_of(ae),
    )
    login(investigator)
    response = client.get(f"/safety/ae/{ae.pk}/reports/1/cioms.pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert f"CIOMS-{participant.study_id}-AE1-1.pdf" in response["Content-Disposition"]
    text = pdf_text(response.content)
    for expected in (
        "CIOMS FORM",
        "I. REACTION INFORMATION",
        "II. SUSPECT DRUG(S) INFORMATION",
        "III. CONCOMITANT DRUG(S) AND HISTORY",
        "IV. MANUFACTURER INFORMATION",
        participant.study_id,
        "Iran",
        "Anaphylactic reaction",
        "[X] Life-threatening",
        "Blinded investigational product",
        "intravenous",
        "Follow-up 1",
        "Tryptase raised",
        "Tarmim Ava Baran",
        "SUSAR: yes",
    ):
        assert expected in text, expected
    onset = ae.onset_date
    age = onset.year - 1970 - ((onset.month, onset.day) < (1, 15))
    assert f"{age} years" in text
    # No identifying data, no arm.
    for secret in (
        "Maryam",
        "0098765432",
        "1970-01-15",
        "Placebo",
        "placebo",
        "saline",
        "100 million",
    ):
        assert secret not in text, secret


def test_the_ae_listing_lists_the_users_aes(client, login, make_user, participant):
    coordinator = make_user(Role.COORDINATOR)
    report_ae(participant, coordinator)
    report_susar(participant, coordinator)
    login(coordinator)
    text = pdf_text(client.get("/safety/listing.pdf").content)
    assert "Adverse event listing" in text
    assert "Pyrexia" in text
    assert "Anaphylactic reaction" in text
    assert "Maryam" not in text


def test_a_report_number_that_does_not_exist_is_404(client, login, make_user, participant):
    coordinator = make_user(Role.COORDINATOR)
    ae = report_susar(participant, coordinator)
    login(coordinator)
    assert client.get(f"/safety/ae/{ae.pk}/reports/7/cioms.pdf").status_code == 404
