"""Demo data of the data-management app, for `manage.py load_demo` (never real).

Runs after the outcomes demo: on the first participants with entered CRFs it raises a query and
answers it and verifies the baseline CRF against the source. It signs nothing: a signature
needs the investigator's own password. Idempotent: a participant with a query is left alone.
"""

from __future__ import annotations

from kernel import concurrency
from kernel.models import User
from kernel.trial import BASELINE, MURRAY
from outcomes.models import CRF_MODELS, Visit
from participants.models import Participant

from . import services
from .models import Query


def _user(group: str, site=None):
    users = User.objects.filter(groups__name=group)
    if site is not None:
        users = users.filter(sites=site)
    return users.order_by("pk").first()


def load(*, participants: int, seed: int, stdout) -> str:
    raised = 0
    for participant in Participant.objects.filter(visits__isnull=False).distinct()[:3]:
        if Query.objects.filter(participant=participant).exists():
            continue
        d0 = Visit.objects.filter(participant=participant, day=0).first()
        murray = CRF_MODELS[MURRAY].objects.filter(visit=d0).first()
        monitor = _user("monitor", participant.site)
        coordinator = _user("site_coordinator", participant.site)
        if murray is None or monitor is None:
            continue
        query = services.query_raise(
            participant=participant,
            visit=d0,
            crf_code=MURRAY,
            field_name="fio2",
            text="The 08:00 ventilator chart shows another FiO2; please check.",
            user=monitor,
        )
        raised += 1
        if coordinator is not None:
            services.query_answer(
                query=query,
                user=coordinator,
                text="Checked against the 08:00 chart; value correct.",
                opened_version=concurrency.version_of(query),
            )
        baseline = CRF_MODELS[BASELINE].objects.filter(visit=d0).first()
        if baseline is not None:
            services.sdv_mark(
                user=monitor,
                visit=d0,
                crf_code=BASELINE,
                opened_version=concurrency.version_of(baseline),
            )

    missing = services.missing_crf_queries_raise()
    return f"{raised} demo queries, {missing} missing-CRF queries"
