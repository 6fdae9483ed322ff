"""`manage.py export_ipd --out DIR`: the files, de-identification, spreadsheet safety, checksums,
export IDs per release, the log, and streaming (SPEC §8)."""

from __future__ import annotations

import csv
import hashlib
import re
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models.query import QuerySet

from exports import services
from exports.models import ExportRun, ExportStatus
from kernel.roles import Role
from outcomes.models import CRF_MODELS, Baseline, Visit
from participants.models import IdentifyingData, Screening

from .exports_data import PEOPLE, build_trial
from .outcomes_factories import BEFORE_THE_DOSE

pytestmark = pytest.mark.django_db


@pytest.fixture
def trial(site01, roles):
    return build_trial(site01)


def export(tmp_path, name="out", *args) -> dict[str, bytes]:
    """Every file of the export by its path in the folder (stata/participants.dta...)."""
    out = tmp_path / name
    call_command("export_ipd", "--out", str(out), *args)
    return {
        path.relative_to(out).as_posix(): path.read_bytes()
        for path in sorted(out.rglob("*"))
        if path.is_file()
    }


def rows(files, name) -> list[dict]:
    return list(csv.DictReader(files[name].decode().splitlines()))


def test_it_writes_exactly_the_files_the_issue_lists(trial, tmp_path):
    files = export(tmp_path)
    tables = [*CRF_MODELS, "participants", "adverse_events", "concomitant_medications"]
    expected = {f"{code}.csv" for code in tables} | {
        "data_dictionary.csv",
        "README.txt",
        "odm.xml",
        "sas/formats.sas",
        "r/read_ipd.R",
    }
    expected |= {f"stata/{code}.dta" for code in tables}
    expected |= {f"spss/{code}.sav" for code in tables}
    expected |= {f"sas/{code}.xpt" for code in tables}
    assert set(files) == expected


def test_participants_csv_has_one_row_per_participant_with_endpoints(trial, tmp_path):
    files = export(tmp_path)
    participants = rows(files, "participants.csv")
    assert len(participants) == 3
    assert {p["site"] for p in participants} == {"01"}
    # The eligibility form's ages, the Baseline CRF's single source (issue 18; tests/exports_data).
    assert sorted(p["age_years"] for p in participants) == ["40", "65", "90+"]
    first = next(p for p in participants if p["sex"] == "male")
    assert first["ttic_day"] == "7"  # 5 -> 3 on day 7: a decline of two points
    assert first["ttic_event"] == "1"
    assert first["icu_free_days"] == "51"  # ICU until day 9 of 60
    assert "arm" not in participants[0]


def test_the_vital_signs_at_screening_are_columns_of_participants_csv(trial, tmp_path):
    """Issue 19: one set per participant, the vital-signs CRFs' columns prefixed `screening_`,
    the date as a study day (the day before Day 0: -1), empty where none were recorded."""
    files = export(tmp_path)
    participants = rows(files, "participants.csv")
    recorded = sorted(
        (p for p in participants if p["screening_heart_rate_bpm"]),
        key=lambda p: p["screening_heart_rate_bpm"],
    )
    assert [p["screening_heart_rate_bpm"] for p in recorded] == ["100", "101"]
    first = recorded[0]
    assert first["screening_measured_on_day"] == "-1"
    assert first["screening_measured_at"] == "09:30"
    assert first["screening_systolic_mmhg"] == "118"
    assert first["screening_fio2"] == "0.400"
    assert first["screening_respiratory_support"] == "face_mask"
    missing = next(p for p in participants if not p["screening_heart_rate_bpm"])
    assert all(v == "" for k, v in missing.items() if k.startswith("screening_"))
    dictionary = {
        r["variable"]: r
        for r in rows(files, "data_dictionary.csv")
        if r["file"] == "participants.csv" and r["variable"].startswith("screening_")
    }
    assert dictionary["screening_temperature_c"]["unit"] == "°C"
    assert dictionary["screening_spo2_percent"]["unit"] == "%"
    assert "Vital signs at screening" in dictionary["screening_heart_rate_bpm"]["label"]
    assert "face_mask" in dictionary["screening_respiratory_support"]["allowed_values"]


def test_crf_rows_are_long_format_with_study_days(trial, tmp_path):
    files = export(tmp_path)
    status = rows(files, "clinical_status.csv")
    assert len(status) == 6
    assert {(r["visit"], r["visit_day"], r["assessed_day"]) for r in status} == {
        ("D0", "0", "0"),
        ("D7", "7", "7"),
    }
    baseline = rows(files, "baseline.csv")
    assert {r["age_years"] for r in baseline} == {"40", "65", "90+"}
    assert {r["weight_kg"] for r in baseline} == {"71.5"}
    assert "other_comorbidities" not in baseline[0]  # free text left out
    assert "notes" not in rows(files, "ae_assessment.csv")[0]


def test_the_day0_assessment_time_is_exported_with_its_dictionary_entry(trial, tmp_path):
    """Issue 18: the time of each Day-0 baseline assessment (checked against the infusion's
    start at entry) is exported as the site's local time HH:MM; later visits have none."""
    files = export(tmp_path)
    status = rows(files, "clinical_status.csv")
    times = {(r["visit"], r["assessed_time"]) for r in status}
    expected = BEFORE_THE_DOSE.strftime("%H:%M")
    assert times == {("D0", expected), ("D7", "")}
    assert {r["assessed_time"] for r in rows(files, "baseline.csv")} == {expected}
    dictionary = [
        r
        for r in rows(files, "data_dictionary.csv")
        if r["file"] == "clinical_status.csv" and r["variable"] == "assessed_time"
    ]
    assert len(dictionary) == 1
    assert "site local time, HH:MM" in dictionary[0]["label"]
    assert dictionary[0]["type"] == "text"
    left_out = files["README.txt"].decode().split("Free-text fields left out:", 1)[1]
    assert "assessed_time" not in left_out
    assert "measured_at" not in left_out  # the vital signs' time, exported alike


def test_icu_admission_before_day0_is_a_negative_study_day_and_stays_a_number(trial, tmp_path):
    files = export(tmp_path)
    aes = rows(files, "adverse_events.csv")
    assert {a["onset_date_day"] for a in aes} == {"1", "3"}
    header = files["adverse_events.csv"].decode().splitlines()[0]
    assert "verbatim_term" not in header
    assert "description" not in header


def test_concomitant_medications_are_numbered_with_study_days_and_no_free_text(trial, tmp_path):
    # Issue 19: the medications log is exported; SPEC §8: dates as study days, free text out.
    files = export(tmp_path)
    meds = rows(files, "concomitant_medications.csv")
    assert len(meds) == 3
    assert {m["medication_number"] for m in meds} == {"1"}
    assert {(m["category"], m["dose"], m["dose_unit"], m["route"]) for m in meds} == {
        ("corticosteroid", "6.000", "mg", "iv")  # decimal(9,3), as stored
    }
    assert {(m["started_on_day"], m["stopped_on_day"], m["ongoing"]) for m in meds} == {
        ("1", "10", "0")
    }
    header = files["concomitant_medications.csv"].decode().splitlines()[0]
    assert "drug" not in header.split(",")
    assert "indication" not in header.split(",")
    assert b"IG.concomitant_medications" in files["odm.xml"]


def test_no_exported_byte_carries_a_name_id_record_number_phone_address_or_date(trial, tmp_path):
    files = export(tmp_path)
    # The binary files (Stata, SPSS, SAS) too: their text is UTF-8 or ASCII inside.
    blob = b"\n".join(files.values()).decode("utf-8", errors="replace")
    forbidden = []
    for identity in IdentifyingData.objects.all():
        forbidden += [identity.full_name, identity.national_id, identity.hospital_record_number]
        forbidden += [identity.phone, identity.address]
        forbidden += identity.full_name.split()
    for name, national_id, record, phone, address in PEOPLE:
        forbidden += [name, national_id, record, phone, phone.replace(" ", ""), address]
    dates = set(IdentifyingData.objects.values_list("date_of_birth", flat=True))
    dates |= set(Screening.objects.values_list("screened_on", flat=True))
    dates |= set(Visit.objects.values_list("target_date", flat=True))
    dates |= set(Baseline.objects.values_list("assessed_on", flat=True))
    for day in sorted(dates):
        forbidden += [
            day.isoformat(),
            day.strftime("%Y%m%d"),
            day.strftime("%Y/%m/%d"),
            day.strftime("%d/%m/%Y"),
            day.strftime("%m/%d/%Y"),
            day.strftime("%d.%m.%Y"),
        ]
    for participant in trial:
        forbidden.append(participant.study_id)
        forbidden.append(participant.screening.screening_number)
    leaks = sorted({item for item in forbidden if item and item in blob})
    assert not leaks, f"identifiers in the export: {leaks}"


def test_an_uncoded_ae_term_is_left_out_and_a_coded_one_kept(trial, tmp_path):
    aes = rows(export(tmp_path), "adverse_events.csv")
    assert sorted(a["preferred_term"] for a in aes) == ["", "Pyrexia", "Pyrexia", "Pyrexia"]


def test_a_formula_in_a_crf_value_is_neutralized_and_negative_numbers_kept(trial, tmp_path):
    Baseline.objects.filter(visit__participant=trial[0]).update(
        respiratory_support='=HYPERLINK("x")'
    )
    from safety.models import AdverseEvent

    AdverseEvent.objects.filter(participant=trial[1]).update(
        preferred_term="@SUM(1+1)", needs_coding=False
    )
    files = export(tmp_path)
    baseline = files["baseline.csv"].decode()
    assert '\'=HYPERLINK(""x"")' in baseline
    assert not re.search(r'(^|,)"?=HYPERLINK', baseline, re.MULTILINE)
    aes = rows(files, "adverse_events.csv")
    assert "'@SUM(1+1)" in {a["preferred_term"] for a in aes}
    # A genuinely negative number in a numeric column stays a number (assessed on day -2).
    day0 = Visit.objects.get(participant=trial[0], day=0).target_date
    Baseline.objects.filter(visit__participant=trial[0]).update(
        assessed_on=day0 - timedelta(days=2)
    )
    files = export(tmp_path, "again")
    days = {r["assessed_day"] for r in rows(files, "baseline.csv")}
    assert "-2" in days
    assert "'-2" not in files["baseline.csv"].decode()


def test_the_readme_checksums_match_the_files(trial, tmp_path):
    files = export(tmp_path)
    readme = files["README.txt"].decode()
    listed = dict(
        (name, digest)
        for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.MULTILINE)
    )
    assert set(listed) == set(files) - {"README.txt"}
    for name, digest in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name
    assert "BLINDED" in readme
    assert "IRCT20201202049568N3" in readme
    assert "Exported at (UTC)" in readme
    assert "Trial EDC" in readme


def _ids(files) -> list[str]:
    return [r["export_id"] for r in rows(files, "participants.csv")]


def test_the_same_release_gives_the_same_export_ids_and_a_new_release_new_ones(trial, tmp_path):
    first = _ids(export(tmp_path, "one"))
    again = _ids(export(tmp_path, "two"))
    assert first == again == sorted(first)
    renewed = _ids(export(tmp_path, "three", "--new-release"))
    assert set(renewed).isdisjoint(first)
    assert all(re.fullmatch(r"P[A-Z2-7]{11}", i) for i in first + renewed)
    for participant in trial:  # nothing of the study ID in the export ID
        assert participant.study_id.replace("-", "") not in " ".join(first)


def test_export_ids_are_the_same_in_every_file(trial, tmp_path):
    files = export(tmp_path)
    ids = set(_ids(files))
    assert {r["export_id"] for r in rows(files, "clinical_status.csv")} == ids
    assert {r["export_id"] for r in rows(files, "adverse_events.csv")} == ids


def test_every_export_is_logged(trial, tmp_path, make_user):
    user = make_user(Role.DATA_MANAGER)
    call_command("export_ipd", "--out", str(tmp_path / "x"), "--user", user.username)
    run = ExportRun.objects.get()
    assert run.requested_by == user
    assert run.via == "command line"
    assert run.status == ExportStatus.DONE
    assert run.row_counts["participants.csv"] == 3
    assert run.row_counts["adverse_events.csv"] == 4
    assert (
        run.file_checksums["odm.xml"]
        == hashlib.sha256((tmp_path / "x" / "odm.xml").read_bytes()).hexdigest()
    )
    assert run.checksum == run.file_checksums["README.txt"]
    assert run.options["out"] == str(tmp_path / "x")


def test_the_dictionary_describes_every_column_with_units_and_codes(trial, tmp_path):
    files = export(tmp_path)
    dictionary = rows(files, "data_dictionary.csv")
    described = {(d["file"], d["variable"]) for d in dictionary}
    for name, content in files.items():
        if name.endswith(".csv") and name != "data_dictionary.csv":
            header = content.decode().splitlines()[0].split(",")
            assert {(name, column) for column in header} <= described, name
    weight = next(d for d in dictionary if d["variable"] == "weight_kg")
    assert (weight["type"], weight["unit"], weight["label"]) == ("float", "kg", "weight")
    status = next(d for d in dictionary if d["file"] == "clinical_status.csv" and
                  d["variable"] == "status_score")  # fmt: skip
    assert "6 = Death" in status["allowed_values"]


def test_the_writer_streams_every_table_with_iterator_or_copy(trial, tmp_path, monkeypatch):
    # Issue 24: the record-level tables are written by PostgreSQL's COPY, streamed to the file
    # in chunks (exports.copysql); the participants (endpoints computed in Python) and the
    # endpoint streams are read with iterator.
    from exports import copysql

    calls, copied = [], []
    original, original_copy = QuerySet.iterator, copysql.copy_to_file

    def spy(self, *args, **kwargs):
        calls.append((self.model.__name__, kwargs.get("chunk_size")))
        return original(self, *args, **kwargs)

    def copy_spy(connection, statement, path):
        copied.append(path.name)
        return original_copy(connection, statement, path)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    monkeypatch.setattr(copysql, "copy_to_file", copy_spy)
    export(tmp_path)
    streamed = {model for model, chunk in calls if chunk}
    assert "Participant" in streamed
    assert {"ClinicalStatus", "StudyEvent", "IcuStay"} <= streamed
    assert set(copied) == {f"{code}.csv" for code in CRF_MODELS} | {
        "adverse_events.csv",
        "concomitant_medications.csv",
    }


def test_the_number_of_queries_does_not_grow_with_the_trial(site01, roles, tmp_path):
    # Every table, endpoints included, is one streamed query: the count does not grow with
    # the number of participants or rows.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    build_trial(site01, days_ago=70)
    export(tmp_path, "warm")  # the release and its export IDs exist from here on
    with CaptureQueriesContext(connection) as small:
        export(tmp_path, "small")
    build_trial(site01, days_ago=40)
    services.pseudonyms_ensure(release=services.release_current(user=None))
    with CaptureQueriesContext(connection) as large:
        export(tmp_path, "large")
    assert len(large) == len(small)
    assert len(rows(export(tmp_path, "check"), "participants.csv")) == 6


def test_streamed_endpoints_equal_the_outcomes_selector(trial, tmp_path):
    from django.utils import timezone

    from exports.models import ExportPseudonym
    from outcomes import selectors

    from .outcomes_factories import event

    day0 = Visit.objects.get(participant=trial[1], day=0).target_date
    event(trial[1], "death", day0 + timedelta(days=12))
    day0 = Visit.objects.get(participant=trial[2], day=0).target_date
    event(trial[2], "hospital_discharge", day0 + timedelta(days=11))
    participants = {r["export_id"]: r for r in rows(export(tmp_path), "participants.csv")}
    for participant in trial:
        export_id = ExportPseudonym.objects.get(participant=participant).export_id
        expected = selectors.participant_endpoints(participant, today=timezone.localdate())
        row = participants[export_id]
        assert row["ttic_day"] == str(expected["ttic"]["day"])
        assert row["ttic_event"] == str(int(expected["ttic"]["event"]))
        assert row["icu_free_days"] == str(expected["icu_free_days"]["value"])
        assert row["death_day"] == str(expected["death_day"] or "")
        assert row["discharge_day"] == str(expected["discharge_day"] or "")


def test_a_participant_withdrawn_early_is_exported_censored_at_the_last_contact(trial, tmp_path):
    # Issue 18 point 2. Participant 3: baseline 5, daily day 3 status 4, D7 status 5 (each
    # less than 2 points below 5), withdrew consent with a last contact on day 7: TTIC censored
    # at day 7 (not 28), ttic_censored 2; ICU-free days empty (not 60 - 10 = 50), unknown flag
    # 1. Participant 2 (baseline 5, D7 status 3: improved on day 7) died on day 12: TTIC
    # (7, event) as the improvement came first; ICU-free days 0; no last-contact day.
    from django.utils import timezone

    from exports.models import ExportPseudonym
    from outcomes import selectors
    from outcomes import services as outcome_services

    from .outcomes_factories import _entry_user, crf, event

    withdrawn = trial[2]
    day0 = Visit.objects.get(participant=withdrawn, day=0).target_date
    user = _entry_user(withdrawn)
    crf(withdrawn, "D7", "clinical_status", status_score=5)  # corrected: 5, not 3
    outcome_services.daily_status_save(
        participant=withdrawn, day=3, status=4, user=user, opened_version=None
    )
    outcome_services.disposition_save(
        participant=withdrawn,
        values={
            "outcome": "withdrew_consent",
            "last_contact_on": day0 + timedelta(days=7),
            "vital_status_d28": "unknown",
            "vital_status_d60": "unknown",
        },
        user=user,
        opened_version=None,
    )
    dead = trial[1]
    event(dead, "death", Visit.objects.get(participant=dead, day=0).target_date + timedelta(12))
    participants = {r["export_id"]: r for r in rows(export(tmp_path), "participants.csv")}

    def row(p):
        return participants[ExportPseudonym.objects.get(participant=p).export_id]

    censored = row(withdrawn)
    assert censored["disposition"] == "withdrew_consent"
    assert censored["last_contact_day"] == "7"
    assert (censored["ttic_day"], censored["ttic_event"], censored["ttic_censored"]) == (
        "7",
        "0",
        "2",
    )
    assert (censored["icu_free_days"], censored["icu_free_days_unknown"]) == ("", "1")
    died = row(dead)
    assert (died["ttic_day"], died["ttic_event"], died["ttic_censored"]) == ("7", "1", "")
    assert (died["icu_free_days"], died["icu_free_days_unknown"], died["last_contact_day"]) == (
        "0",
        "0",
        "",
    )
    for p in trial:  # the streamed values are the selector's
        expected = selectors.participant_endpoints(p, today=timezone.localdate())
        assert row(p)["ttic_day"] == str(expected["ttic"]["day"])
        assert row(p)["icu_free_days"] == str(
            "" if expected["icu_free_days"]["value"] is None else expected["icu_free_days"]["value"]
        )
        assert row(p)["last_contact_day"] == str(expected["last_contact_day"] or "")
