"""The REST API fuzzed from its own OpenAPI schema (issue 22) with schemathesis: every operation
gets generated paths, query strings and bodies, sent with a token of a site-02 coordinator (site
scope) and of the sponsor (blinded, trial-wide, no identifying data). No answer may be a server
error, a 200 must match the schema, and no body may hold site 01's participants (for site 02's
staff), identifying data or anything of the allocation.

A small budget in every test run; `make fuzz` sets FUZZ_API_EXAMPLES for a large one.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from kernel.roles import Role

from . import outcomes_factories as of
from .api_client import token_for
from .blinding import leak_markers
from .exports_data import PEOPLE, build_trial
from .factories import ParticipantFactory
from .safety_factories import report_ae

pytestmark = [pytest.mark.django_db, pytest.mark.fuzz]

EXAMPLES = int(os.environ.get("FUZZ_API_EXAMPLES", "4"))

schema = schemathesis.openapi.from_dict(SchemaGenerator().get_schema(request=None, public=True))
schema.app = WSGIHandler()


@pytest.fixture
def in_process_app():
    """Django's WSGI handler in this test's transaction: the handler's own connection clean-up
    (close_old_connections) is what the test client also switches off."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def trial(site01, site02, make_user, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api": "100000/60", "export": "100000/60"}
    build_trial(site01)  # randomized, with identifying data, CRFs and AEs
    there = ParticipantFactory(site=site02, study_id="02-0001")
    of.schedule(there)
    report_ae(there, make_user(Role.COORDINATOR, sites=[site02], username="c2"))
    return {
        Role.COORDINATOR: token_for(make_user(Role.COORDINATOR, sites=[site02], username="c2")),
        Role.SPONSOR: token_for(make_user(Role.SPONSOR)),
    }


def forbidden_texts(role) -> list[str]:
    """Never in an answer: identifying data, the allocation, and for site 02's coordinator
    anything of site 01 (its study IDs). The sponsor sees study IDs where the pages show them
    (the AE list), never identifying data or free text."""
    from participants.models import Participant

    texts = [value for person in PEOPLE for value in person] + leak_markers()
    if role == Role.COORDINATOR:
        texts += Participant.objects.filter(site__code="01").values_list("study_id", flat=True)
    return texts


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=not os.environ.get("FUZZ_RANDOM"),
)
@pytest.mark.parametrize("role", [Role.COORDINATOR, Role.SPONSOR])
def test_the_api_answers_every_generated_call_without_error_or_leak(
    case, trial, in_process_app, role
):
    forbidden = forbidden_texts(role)
    response = case.call_and_validate(
        headers={"Authorization": f"Bearer {trial[role]}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
    if response.headers.get("Content-Type", [""])[0].startswith("application/zip"):
        return
    body = response.text
    leaked = [text for text in forbidden if text in body]
    assert not leaked, f"{case.method} {case.formatted_path}: {leaked}"
