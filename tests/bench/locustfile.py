"""Locust users of the CRF-save benchmark (tests/bench/test_crf_load_bench.py runs them).

`FormCoordinator` is a site coordinator: signs in through the login form, opens the blood-gas
CRF of a visit, and saves a correction through the real form view (CSRF, validation, edit
checks, audit trail, reason for change). `BareClient` opens the bare view (one SELECT of the
row) and posts the same values to it: the same two requests per save. `SignedInNoOp`, a
diagnostic (not a goal), signs in as the coordinator does and then sends the same two requests
to a view that does nothing (tests/bench/urls.py): the floor of any signed-in request.
Both name their save "crf save", whose 95th percentile the benchmark compares. Each waits 5-15 s
between saves (a coordinator typing a CRF takes minutes; this is already ten times faster), so
50 of them load the server without making the run a pure queueing test.
Each starts at a random moment of the first 10 s (`_stagger`).
BENCH_POOL is a JSON file of visits: [{"path", "visit_id", "pao2", "fio2", "assessed_on",
"assessed_time"}].
"""

from __future__ import annotations

import json
import os
import random
import re
from decimal import Decimal
from pathlib import Path

from gevent import sleep
from locust import HttpUser, between, events, task

POOL = json.loads(Path(os.environ["BENCH_POOL"]).read_text())
PASSWORD = os.environ["BENCH_PASSWORD"]
USERNAME = os.environ.get("BENCH_USERNAME", "coordinator")
USER_ID = os.environ.get("BENCH_USER_ID", "1")
TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
VERSION = re.compile(r'name="edit_version" value="([^"]+)"')
# Every request as locust timed it (start, name, ms), beside the server's own timing of it
# (tests/bench/timing.py), when the benchmark asks for it.
TIMING = os.environ.get("BENCH_TIMING")
if TIMING:
    _timing = (Path(TIMING) / f"locust-{os.getpid()}.jsonl").open("a", buffering=1)

    @events.request.add_listener
    def _timed(request_type, name, response_time, start_time=None, **kwargs):
        _timing.write(
            json.dumps({"t": start_time, "method": request_type, "name": name, "ms": response_time})
            + "\n"
        )


def _values(visit: dict) -> dict:
    # A correction of one mmHg either way: a real change, far from any soft limit.
    pao2 = Decimal(visit["pao2"]) + random.choice((-1, 1))  # noqa: S311
    values = {"assessed_on": visit["assessed_on"], "pao2_mmhg": str(pao2), "fio2": visit["fio2"]}
    if visit.get("assessed_time"):
        # A Day-0 assessment is timed to be complete (issue 18): the stored time, sent back.
        values["assessed_time"] = visit["assessed_time"]
    return values


def _stagger() -> None:
    """Start within the first 10 s (the mean wait between saves), not all 50 in the same
    0.2 s: the benchmark measures coordinators at work, and a first burst of 50 saves at once
    was 35 of the bare view's 236 saves over 1 s, i.e. all of its p95 (docs/performance.md)."""
    sleep(random.uniform(0, 10))  # noqa: S311


def _sign_in(user: HttpUser) -> None:
    page = user.client.get("/login/", name="login form")
    token = TOKEN.search(page.text).group(1)
    # Not following the redirect: the home page is not what this benchmark measures.
    user.client.post(
        "/login/",
        {"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": token},
        name="login",
        allow_redirects=False,
    )


class FormCoordinator(HttpUser):
    wait_time = between(5, 15)

    def on_start(self):
        _sign_in(self)
        _stagger()

    @task
    def save_blood_gas(self):
        visit = random.choice(POOL)  # noqa: S311
        with self.client.get(visit["path"], name="crf form", catch_response=True) as page:
            # Not the CRF (e.g. the login page after a refused sign-in): no save to measure.
            if page.status_code != 200 or 'data-testid="crf-form"' not in page.text:
                page.failure(f"not the CRF form: HTTP {page.status_code} {page.url}")
                return
        match = TOKEN.search(page.text)
        version = VERSION.search(page.text)
        if match is None or version is None:
            return
        data = {
            **_values(visit),
            "fio2_unit": "fraction",
            "reason_for_change": "Transcription error corrected (benchmark)",
            "action": "complete",
            "csrfmiddlewaretoken": match.group(1),
            # The version the form was opened on, as the browser posts it back (issue 26).
            "edit_version": version.group(1),
        }
        with self.client.post(
            visit["path"], data, name="crf save", allow_redirects=False, catch_response=True
        ) as response:
            if response.status_code == 200 and 'data-testid="edit-conflict"' in response.text:
                # Two simulated coordinators corrected the same CRF at once: refused, shown.
                response.success()
            elif response.status_code != 302 or "/login/" in response.headers.get("Location", ""):
                response.failure(f"not saved: HTTP {response.status_code}")


class BareClient(HttpUser):
    wait_time = between(5, 15)

    def on_start(self):
        _stagger()

    @task
    def save_blood_gas(self):
        visit = random.choice(POOL)  # noqa: S311
        # Opened first, as the coordinator opens the form: the same number of requests in
        # front of the server as in the real run (the GET is timed apart, not in "crf save").
        with self.client.get(
            f"/bench/bare-blood-gas/{visit['visit_id']}/", name="crf form", catch_response=True
        ) as page:
            if page.status_code != 200:
                page.failure(f"not read: HTTP {page.status_code}")
                return
        with self.client.post(
            f"/bench/bare-blood-gas/{visit['visit_id']}/",
            {**_values(visit), "user_id": USER_ID},
            name="crf save",
            catch_response=True,
        ) as response:
            if response.status_code != 204:
                response.failure(f"not saved: HTTP {response.status_code}")


class SignedInNoOp(HttpUser):
    """A diagnostic: the coordinator's sign-in, then a GET and a POST (CSRF token sent back)
    of a view that does nothing, named as the real ones so that the same figures are read."""

    wait_time = between(5, 15)

    def on_start(self):
        _sign_in(self)
        _stagger()

    @task
    def save_nothing(self):
        with self.client.get(
            "/bench/signed-in-noop/", name="crf form", allow_redirects=False, catch_response=True
        ) as page:
            if page.status_code != 200:
                page.failure(f"not signed in: HTTP {page.status_code}")
                return
        with self.client.post(
            "/bench/signed-in-noop/",
            {"csrfmiddlewaretoken": page.text},
            name="crf save",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code != 204:
                response.failure(f"not a signed-in no-op: HTTP {response.status_code}")
