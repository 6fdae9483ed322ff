"""The trial configuration matches the registry record and SPEC.md (values cited)."""

from kernel.trial import CLINICAL_STATUS, CRP, MURRAY, TRIAL


def test_visit_days_and_windows_are_those_of_spec_section_4():
    assert [(v.code, v.day, v.window_before, v.window_after) for v in TRIAL.visits] == [
        ("D0", 0, 0, 0),
        ("D1", 1, 0, 0),
        ("D2", 2, 0, 0),
        ("D3", 3, 0, 0),
        ("D4", 4, 0, 0),
        ("D5", 5, 1, 1),
        ("D7", 7, 1, 1),
        ("D10", 10, 1, 1),
        ("D14", 14, 2, 2),
        ("D20", 20, 2, 2),
        ("D28", 28, 3, 3),
        ("D60", 60, 7, 7),
    ]


def test_outcome_time_points_are_those_of_the_registry_record():
    # Registry, secondary outcomes: Murray "Baseline and Days 1, 2, 3, 7, 14, 28, and 60";
    # CRP "Baseline, day 5, 10, 20".
    assert [v.day for v in TRIAL.visits_with_crf(MURRAY)] == [0, 1, 2, 3, 7, 14, 28, 60]
    assert [v.day for v in TRIAL.visits_with_crf(CRP)] == [0, 5, 10, 20]
    assert [v.day for v in TRIAL.visits_with_crf("ae_assessment")] == [0, 2, 3, 4, 7, 14]
    assert [v.day for v in TRIAL.visits_with_crf("blood_gas")] == [0, 3, 7, 14, 28, 60]
    assert len(TRIAL.visits_with_crf(CLINICAL_STATUS)) == len(TRIAL.visits)


def test_strata_and_support_mapping_default_to_spec_section_3():
    assert TRIAL.stratum_for_support("invasive_ventilation") == "A"
    assert TRIAL.stratum_for_support("non_invasive_ventilation") == "A"
    for kind in ("high_flow_nasal_oxygen", "face_mask", "nasal_cannula", "none"):
        assert TRIAL.stratum_for_support(kind) == "B"


def test_phases_add_up_to_the_registry_sample_size_of_72():
    phase_1, phase_2 = TRIAL.phase("I"), TRIAL.phase("II")
    assert (phase_1.slots_per_stratum, phase_1.per_stratum_per_arm) == (6, 3)
    assert phase_1.target_total + phase_2.target_total == TRIAL.target_sample_size == 72
    assert TRIAL.block_sizes == (2, 4, 8)


def test_hard_limits_are_those_of_spec_section_4():
    limits = {k: (str(v.minimum), str(v.maximum)) for k, v in TRIAL.hard_limits.items()}
    assert limits == {
        "fio2": ("0.21", "1.00"),
        "pao2_mmhg": ("20", "700"),
        "peep_cmh2o": ("0", "30"),
        "compliance_ml_cmh2o": ("5", "150"),
        "crp_mg_l": ("0", "500"),
        "weight_kg": ("30", "250"),
        # Vital signs (issue 19): impossible in a living patient beyond these.
        "temperature_c": ("25", "45"),
        "heart_rate_bpm": ("20", "250"),
        "systolic_mmhg": ("40", "300"),
        "diastolic_mmhg": ("15", "200"),
        "respiratory_rate": ("4", "80"),
        "spo2_percent": ("40", "100"),
    }


def test_every_visit_crf_is_a_known_crf():
    for visit in TRIAL.visits:
        assert set(visit.crfs) <= set(TRIAL.crfs)
