"""The statistician's pages: generate, import (line-numbered errors), verify, phase gate."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from kernel.roles import Role
from randomization.models import PhaseReview, RandomizationList, Slot

from .factories import PASSWORD
from .randomization_factories import behind_the_triggers

pytestmark = pytest.mark.django_db


@pytest.fixture
def statistician(client, login, make_user):
    user = make_user(Role.STATISTICIAN)
    login(user)
    return user


def test_generating_a_list_stores_it_and_shows_seed_arms_and_a_verified_checksum(
    client, statistician
):
    response = client.post(
        "/randomization/lists/generate/", {"phase": "I", "stratum": "A", "seed": "20210305"}
    )
    rlist = RandomizationList.objects.get()
    assert response["Location"] == f"/randomization/lists/{rlist.pk}/"
    body = client.get(response["Location"]).content.decode()
    assert "20210305" in body
    assert body.count('data-arm="exosome"') == 3
    assert "verified" in body
    index = client.get("/randomization/lists/").content.decode()
    assert "verified" in index


def test_a_tampered_list_shows_a_mismatch(client, statistician):
    client.post("/randomization/lists/generate/", {"phase": "I", "stratum": "A", "seed": "5"})
    with behind_the_triggers():  # the database refuses the edit otherwise (migration 0005)
        Slot.objects.filter(sequence=1).update(envelope_code="XXXXXX")
    assert "MISMATCH" in client.get("/randomization/lists/").content.decode()


def test_an_import_with_errors_names_each_line_and_stores_nothing(client, statistician):
    upload = SimpleUploadedFile(
        "list.csv",
        b"sequence,block,block_size,arm,envelope_code\n1,1,2,exosome,ACDEFH\n2,1,2,exosome,ACDEFJ\n",
    )
    response = client.post(
        "/randomization/lists/import/", {"phase": "I", "stratum": "A", "file": upload}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "line 2: block 1 is not 1:1 (2 exosome, 0 placebo)" in body
    assert "the list must have exactly 6 slots, not 2" in body
    assert not RandomizationList.objects.exists()


def test_a_good_import_is_stored(client, statistician):
    upload = SimpleUploadedFile(
        "list.csv",
        b"sequence,block,block_size,arm,envelope_code\n"
        b"1,1,2,exosome,ACDEFH\n2,1,2,placebo,ACDEFJ\n"
        b"3,2,4,placebo,ACDEFK\n4,2,4,exosome,ACDEFM\n5,2,4,exosome,ACDEFN\n6,2,4,placebo,ACDEFP\n",
    )
    client.post("/randomization/lists/import/", {"phase": "I", "stratum": "B", "file": upload})
    assert RandomizationList.objects.get().source == "imported"


def test_a_bad_seed_is_a_form_error(client, statistician):
    body = client.post(
        "/randomization/lists/generate/", {"phase": "I", "stratum": "A", "seed": "abc"}
    ).content.decode()
    assert "Enter a whole number." in body


def test_the_phase_gate_refuses_an_approval_with_no_phase_one_slot_used(client, statistician):
    # The gate used to open here, on any approved review (issue 18); SPEC §10 needs every
    # phase I slot used and each participant through day 14 (test_randomization_phase_gate.py).
    page = client.get("/randomization/phase-gate/").content.decode()
    assert 'data-testid="gate">closed' in page
    body = client.post(
        "/randomization/phase-gate/",
        {
            "review_date": "2021-04-08",
            "decision": "approved",
            "document_reference": "DSMB 3/21",
            "password": PASSWORD,
        },
    ).content.decode()
    assert "Stratum A: 0 of 6 phase I slots are used." in body
    assert "Stratum B: 0 of 6 phase I slots are used." in body
    assert not PhaseReview.objects.exists()
    assert 'data-testid="gate">closed' in client.get("/randomization/phase-gate/").content.decode()


def test_the_phase_gate_needs_every_field(client, statistician):
    body = client.post("/randomization/phase-gate/", {"decision": "approved"}).content.decode()
    # Review date, DSMB minutes reference, password.
    assert body.count("This field is required.") == 3
    assert not PhaseReview.objects.exists()


def test_the_stored_list_downloads_in_the_command_line_format(client, statistician):
    import io

    from django.core.management import call_command

    client.post("/randomization/lists/generate/", {"phase": "I", "stratum": "B", "seed": "77"})
    rlist = RandomizationList.objects.get()
    response = client.post(f"/randomization/lists/{rlist.pk}/csv/")
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    printed = io.StringIO()
    call_command(
        "randomization_list", "--phase", "I", "--stratum", "B", "--seed", "77", stdout=printed
    )
    assert response.content.decode() == printed.getvalue()


def test_the_balance_table_counts_per_arm_for_the_statistician(client, statistician, site01):
    from .randomization_factories import EXOSOME, PLACEBO, randomized_participant, store_list

    store_list(phase="I", stratum="B", arms=[EXOSOME, PLACEBO, PLACEBO, EXOSOME, EXOSOME, PLACEBO])
    for _ in range(3):
        randomized_participant(site=site01, support="none")
    body = client.get("/randomization/lists/").content.decode()
    table = body.split('data-testid="balance"')[1].split("</table>")[0]
    assert "<td>I</td><td>B</td><td>1</td><td>2</td><td>1</td>" in table  # E, P, P
