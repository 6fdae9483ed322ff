import gc
import os
import shutil
import time
from collections import Counter
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db.backends.signals import connection_created

from kernel.roles import Role
from kernel.services import roles_sync
from trialedc.celery import app

from . import run_record
from .factories import PASSWORD, SiteFactory, UserFactory
from .own_redis import OwnRedis

# When the run started (this file is imported while pytest starts, before collection).
_STARTED = time.time()

# The test processes' garbage collector (docs/performance.md, "Suite time, the garbage
# collector"): a young-generation collection every 10,000 net allocations rather than Python's
# 700, and what is alive once the tests are collected (Django, the apps, the collected tests)
# frozen out of the full collections, each of which otherwise walked it all again (0.15-0.3 s
# here). Cycles the tests make are still collected, only looked for less often; what was frozen
# stays for the run (as it would anyway: modules, settings, the collected tests).
# The benchmarks measure with the interpreter's own (tests/bench/conftest.py), as the product runs.
GC_YOUNG_THRESHOLD = 10_000
PYTHON_GC_THRESHOLD = gc.get_threshold()


def gc_for_tests() -> None:
    gc.set_threshold(GC_YOUNG_THRESHOLD, *PYTHON_GC_THRESHOLD[1:])


def gc_as_python_has_it() -> None:
    gc.unfreeze()
    gc.set_threshold(*PYTHON_GC_THRESHOLD)


def pytest_configure(config):
    gc_for_tests()


def pytest_collection_finish(session):
    gc.collect()
    gc.freeze()


def pytest_sessionfinish(session, exitstatus):
    """`make test` (the whole suite) asks for a record of the run: tests/run_record.py. Written
    by the controlling process only (an xdist worker has `workerinput`)."""
    target = os.environ.get(run_record.ENV)
    if not target or hasattr(session.config, "workerinput"):
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    stats = getattr(reporter, "stats", {})
    counts = {outcome: len(stats.get(outcome, [])) for outcome in run_record.OUTCOMES}
    path = Path(target)
    if not path.is_absolute():
        path = Path(session.config.rootpath) / path
    run_record.write(
        path,
        started=_STARTED,
        ended=time.time(),
        counts=counts,
        workers=getattr(session.config.option, "numprocesses", None),
        exitstatus=exitstatus,
        commit=run_record.head_commit(),
        dirty=run_record.tree_dirty(),
    )


def _allow_the_flush(sender, connection, **kwargs):
    """Between transactional tests Django empties the tables with TRUNCATE, which the security
    log and the audit trail refuse unless their owner says so for its session (kernel migration
    0016; the suite connects as the owner). tests/test_truncate.py proves the refusal."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET trialedc.allow_truncate = 'on'")


connection_created.connect(_allow_the_flush, dispatch_uid="tests_allow_the_flush")


# The files that take longest (docs/performance.md, "Where the suite's time goes"), started
# first by `make test` (`--dist loadfile --no-loadscope-reorder`): a file is run whole by one
# worker, and pytest-xdist's own order (most tests first) started the crawls, which have few
# tests and take minutes each, last, so one core worked alone for the last minutes of the run.
LONGEST_FILES = (
    "tests/test_blinded_crawl.py",
    "tests/test_fuzz_forms.py",
    "tests/test_fuzz_http.py",
    "tests/test_participants_phi.py",
    "tests/test_randomization_blinding.py",
    "tests/test_role_url_matrix.py",
    "tests/test_site_scope_crawl.py",
    "tests/browser/test_outcomes_forms.py",
    "tests/browser/test_narrow_screens.py",
)


def _file_of(item) -> str:
    return item.nodeid.split("::")[0]


def _longest_first(items) -> None:
    """The longest files first (LONGEST_FILES), then the others by number of tests, most first
    (pytest-xdist's own order), so that the shortest fill the end of the run on both workers."""
    per_file = Counter(_file_of(item) for item in items)

    def rank(item):
        path = _file_of(item)
        known = LONGEST_FILES.index(path) if path in LONGEST_FILES else len(LONGEST_FILES)
        return (known, -per_file[path], path)

    items.sort(key=rank)  # stable: a file's tests keep their order


def pytest_collection_modifyitems(config, items):
    """Under `--dist loadfile` the longest files go first (`_longest_first`). With
    DATABASE_REPLICA_URL set (the suite run against a replica: docs/scaling.md), every database
    test may read through the `replica` alias (a mirror of the test database)."""
    from django.conf import settings

    if getattr(config.option, "dist", "no") == "loadfile" and not getattr(
        config.option, "loadscopereorder", True
    ):
        _longest_first(items)
    if not settings.DATABASE_REPLICA_ROUTING:
        return
    for item in items:
        marker = item.get_closest_marker("django_db")
        if marker is not None and not marker.kwargs.get("databases"):
            kwargs = {**marker.kwargs, "databases": ["default", "replica"]}
            item.add_marker(pytest.mark.django_db(*marker.args, **kwargs), append=False)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Each test starts with no request counted (the role matrix signs in hundreds of times)."""
    cache.clear()


@pytest.fixture
def site01(db):
    return SiteFactory(code="01", name="Imam Khomeini Hospital Complex, Tehran")


@pytest.fixture
def site02(db):
    return SiteFactory(code="02", name="Second site")


@pytest.fixture
def roles(db):
    """Role groups with their permissions (the migration made the groups; sync the perms)."""
    roles_sync()


@pytest.fixture
def make_user(roles, site01):
    """make_user(Role.COORDINATOR, sites=[site02]) -> a user holding that role."""

    def make(role: Role, *, sites=None, username=None):
        return UserFactory(
            username=username or role.value,
            role=role,
            sites=[site01] if sites is None else sites,
        )

    return make


@pytest.fixture
def login(client):
    """login(user) signs the test client in through the real login form (axes included)."""

    def do(user):
        response = client.post("/login/", {"username": user.username, "password": PASSWORD})
        assert response.status_code == 302, response.content[:500]
        return client

    return do


@pytest.fixture
def own_redis(tmp_path):
    """A redis-server of the test's own (tests/own_redis.py), stopped at the end."""
    if shutil.which("redis-server") is None:
        pytest.fail("these tests need redis-server (Debian's redis-server package)")
    server = OwnRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker():
    """broker(url): Celery publishes to `url` for real (not eager) for the rest of the test."""
    saved = {key: app.conf[key] for key in ("task_always_eager", "broker_url")}

    def use(url: str) -> None:
        app.conf.task_always_eager = False
        app.conf.broker_url = url
        # Forget pooled connections made for another broker URL.
        app._pool = None
        app.amqp._producer_pool = None

    yield use
    app.conf.update(saved)
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def participant(site01, roles):
    """A participant of site 01 with the visit schedule made (Day 0 three days ago: D3 is due
    today). A test module that needs another participant defines its own."""
    from . import outcomes_factories
    from .factories import ParticipantFactory

    p = ParticipantFactory(site=site01)
    outcomes_factories.schedule(p)
    return p


@pytest.fixture
def murray(participant):
    """The participant's Day 0 Murray CRF, complete (PaO2 70 mmHg, FiO2 0.6, two quadrants)."""
    from decimal import Decimal

    from . import outcomes_factories

    return outcomes_factories.crf(
        participant, "D0", "murray", pao2_mmhg=Decimal("70"), fio2=Decimal("0.6"), cxr_quadrants=2
    )
