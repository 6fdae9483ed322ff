"""Adverse events for the safety tests, made through the services (so alerts and reports exist)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from safety import services
from safety.models import AdverseEvent


def ae_data(**overrides) -> dict:
    """A coherent non-serious AE: fever, grade 1, recovered, unrelated."""
    today = timezone.localdate()
    data = {
        "verbatim_term": "Fever after the infusion",
        "preferred_term": "Pyrexia",
        "onset_date": today - timedelta(days=2),
        "ongoing": False,
        "end_date": today - timedelta(days=1),
        "ctcae_grade": 1,
        "serious": False,
        "relationship": "unlikely",
        "action_taken": "not_applicable",
        "outcome": "recovered",
    }
    data.update(overrides)
    return data


def sae_data(**overrides) -> dict:
    """A coherent open SAE: ARDS worsening, grade 4, life-threatening, ongoing, unrelated."""
    today = timezone.localdate()
    data = ae_data(
        verbatim_term="Worsening respiratory failure, intubated",
        preferred_term="Acute respiratory distress syndrome worsening",
        onset_date=today - timedelta(days=1),
        ongoing=True,
        end_date=None,
        ctcae_grade=4,
        serious=True,
        criterion_life_threatening=True,
        criterion_hospitalization=True,
        aware_at=timezone.now() - timedelta(hours=2),
        relationship="unrelated",
        outcome="not_recovered",
        description="Desaturation to 82 % on day 1; intubated.",
    )
    data.update(overrides)
    return data


def susar_data(**overrides) -> dict:
    """An open SUSAR: anaphylaxis (not in the RSI), grade 4, life-threatening, probable."""
    data = sae_data(
        verbatim_term="Anaphylaxis during the infusion",
        preferred_term="Anaphylactic reaction",
        criterion_hospitalization=False,
        relationship="probable",
        action_taken="infusion_stopped",
        description="Urticaria, wheeze and hypotension 10 minutes into the infusion.",
    )
    data.update(overrides)
    return data


def report_ae(participant, user, **overrides) -> AdverseEvent:
    return services.ae_report(participant=participant, user=user, data=ae_data(**overrides))


def report_sae(participant, user, **overrides) -> AdverseEvent:
    return services.ae_report(participant=participant, user=user, data=sae_data(**overrides))


def report_susar(participant, user, **overrides) -> AdverseEvent:
    return services.ae_report(participant=participant, user=user, data=susar_data(**overrides))
