"""`make bench`: randomization under contention, through the service, against the physical floor.

20 threads × 50 assignments through `randomization.services.slot_assign` (participant row lock,
the phase's counter rows locked, the slot's seal, phase cap, audit rows, visit schedule, the
pharmacists' notices and e-mail), against 20 threads × 50 of the minimal raw psycopg loop:
`SELECT ... FOR UPDATE` of the next free slot, `UPDATE` it, commit. After each run: zero
duplicates, zero gaps (the used slots of each list are exactly its first ones, in sequence
order); after the service's, every participant randomized with its 12 visits, their audit rows,
the participant's audit row, a notice to the site's pharmacist and an e-mail in the outbox.

The service runs twice in the same test, on 1,000 participants each (the lists and the phase cap
have room for both), each after an untimed warm-up of 40 (WARM_UP): first as in production,
**with a broker** (a redis-server of the test's own on a spare port, as tests/own_redis.py
starts it; `kernel.broker.task_publish` on its kept connection): the assigning thread hands the
e-mail's id to the broker after each commit and a worker delivers it; then **without a broker**,
as development and the tests run Celery: the delivery runs eagerly in the assigning thread after
each commit (lock the outbox row, send, update, commit). The first is the row's figure; the
second is recorded in its details. After the first run no e-mail is sent yet and the broker
holds exactly one task per participant, for its own outbox row; the benchmark then does what
the worker does with each (`alert_deliver`) and checks every e-mail is sent. After the second,
every e-mail is sent already.

Besides the rates, each run records the CPU it cost per assignment, in this process (Python, all
threads) and in the database server (the threads' backends, from /proc when the server is on
this machine): on a shared machine the rates follow the load, the CPU per assignment much less
(docs/performance.md, issue 24).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import os
import threading
import time
from pathlib import Path

import psycopg
import pytest
from django.core import mail
from django.db import connection

from datamanagement.models import Notification
from kernel.alerts import alert_deliver
from kernel.models import Alert, AlertKind, User
from kernel.services import roles_sync, sites_sync, user_set_up
from kernel.trial import TRIAL
from outcomes.models import Visit
from participants import demo as participants_demo
from participants.models import Participant, ParticipantStatus
from randomization import services
from randomization.models import Randomization, RandomizationList
from trialedc.celery import app
from trialedc.management.commands.load_demo import DEMO_PASSWORD, DEMO_USERS

from ..randomization_factories import phase_two_opened

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

THREADS, EACH = 20, 50
TOTAL = THREADS * EACH
# Untimed assignments per thread before each timed run: the first assignments of a process cost
# more (about 1.3 ms of Python each over the first 1,000, measured: a timed run first was
# 30-40 % slower than the same run second); a server's processes are long-lived.
WARM_UP = 2
# One respiratory support per stratum; the threads alternate, so both lists are in use.
SUPPORTS = ("invasive_ventilation", "nasal_cannula")


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass


@dataclasses.dataclass
class Run:
    """One run's wall-clock seconds, the CPU seconds it cost in this process (all threads) and
    in the database server (its backends; None when the server is not on this machine), and
    the load average (1 minute) before and after it: the machine is shared."""

    seconds: float
    python_cpu: float
    server_cpu: float | None
    load: tuple[float, float]

    def per_assignment_ms(self) -> dict[str, float | None]:
        server = None if self.server_cpu is None else 1000 * self.server_cpu / TOTAL
        return {"python_cpu_ms": 1000 * self.python_cpu / TOTAL, "server_cpu_ms": server}


def _backend_cpu(pid: int) -> float | None:
    """CPU seconds (user + system) a database backend has used, from /proc/<pid>/stat."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _ServerCpu:
    """The CPU the threads' backends used, each measured from its first to its last query."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.total: float | None = 0.0

    def add(self, before: float | None, after: float | None) -> None:
        with self._lock:
            if before is None or after is None or self.total is None:
                self.total = None
            else:
                self.total += after - before


def _run_threads(work, server: _ServerCpu) -> Run:
    """Run work(thread_index) in THREADS threads at once."""
    load_before = os.getloadavg()[0]
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS + 1)

    def target(index: int) -> None:
        try:
            start.wait()
            work(index)
        except BaseException as error:  # noqa: BLE001 — reported after the join
            errors.append(error)

    threads = [threading.Thread(target=target, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    start.wait()
    began, began_cpu = time.perf_counter(), time.process_time()
    for thread in threads:
        thread.join()
    seconds, python_cpu = time.perf_counter() - began, time.process_time() - began_cpu
    assert not errors, errors[:3]
    return Run(seconds, python_cpu, server.total, (load_before, os.getloadavg()[0]))


def _assert_no_duplicates_no_gaps(rows: list[tuple[int, int, int]], total: int = TOTAL) -> None:
    """rows: (list, sequence, participant) of every used slot."""
    participants = [participant for _, _, participant in rows]
    assert len(rows) == total
    assert len(set(participants)) == total, "a participant holds two slots"
    assert len({(lst, seq) for lst, seq, _ in rows}) == total, "a slot was given twice"
    for lst in {lst for lst, _, _ in rows}:
        used = sorted(seq for x, seq, _ in rows if x == lst)
        assert used == list(range(1, len(used) + 1)), f"gap in list {lst}"


@dataclasses.dataclass
class _Trial:
    participants: list[Participant]
    coordinators: dict[int, User]
    done: int = 0  # participants randomized so far


def _service_set_up(monkeypatch, participants: int) -> _Trial:
    """The demo's sites and users, `participants` enrolled participants, phase II opened with a
    list per stratum long enough for them all."""
    # The demo's sites and users without its participants (load_demo refuses 0 participants).
    roles_sync()
    sites_sync()
    for username, role, site_codes, full_name in DEMO_USERS:
        user_set_up(
            username=username,
            password=DEMO_PASSWORD,
            role=role,
            site_codes=site_codes,
            full_name=full_name,
        )
    participants_demo.load_bulk(participants=participants, seed=1, stdout=_Null())
    statistician = User.objects.get(username="statistician")
    # Phase II opened directly: this measures assignment, not the gate (whose checklist the
    # bulk demo, without day-14 visits done, would not pass).
    phase_two_opened(user=statistician)
    for index, stratum in enumerate(TRIAL.strata):
        # Each run takes half its slots from each stratum (the threads alternate).
        services.list_generate(
            phase=TRIAL.gated_phase,
            stratum=stratum.code,
            seed=index,
            user=statistician,
            length=participants // 2,
        )
    # Network scale: the phase cap of this trial (60) would stop the run at 60 assignments.
    phases = tuple(
        dataclasses.replace(p, target_total=10 * participants) if p.code == TRIAL.gated_phase else p
        for p in TRIAL.phases
    )
    monkeypatch.setattr(services, "TRIAL", dataclasses.replace(TRIAL, phases=phases))
    coordinators = {
        u.sites.get().pk: u
        for u in User.objects.filter(username__in=["coordinator", "coordinator2"])
    }
    return _Trial(list(Participant.objects.order_by("pk")), coordinators)


def _service_run(trial: _Trial, each: int = EACH) -> tuple[Run, list[int]]:
    """THREADS × `each` assignments of the next participants; the run and their ids."""
    count = THREADS * each
    mine = trial.participants[trial.done : trial.done + count]
    server = _ServerCpu()

    def work(index: int) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pid = cursor.fetchone()[0]
            before = _backend_cpu(pid)
            for k in range(each):
                participant = mine[index * each + k]
                services.slot_assign(
                    participant=participant,
                    user=trial.coordinators[participant.site_id],
                    respiratory_support=SUPPORTS[k % 2],
                )
            server.add(before, _backend_cpu(pid))
        finally:
            connection.close()

    run = _run_threads(work, server)
    trial.done += count
    done = trial.done
    _assert_no_duplicates_no_gaps(
        list(
            Randomization.objects.values_list(
                "slot__randomization_list", "slot__sequence", "participant"
            )
        ),
        total=done,
    )
    assert RandomizationList.objects.filter(phase=TRIAL.gated_phase).count() == 2
    ids = [p.pk for p in mine]
    randomized = Participant.objects.filter(pk__in=ids, status=ParticipantStatus.RANDOMIZED)
    assert randomized.count() == count
    assert Visit.objects.count() == Visit.history.filter(history_type="+").count()
    assert Visit.objects.filter(participant__in=ids).count() == count * len(TRIAL.visits)
    assert (
        Participant.history.filter(
            id__in=ids, status=ParticipantStatus.RANDOMIZED, history_change_reason="Randomized"
        ).count()
        == count
    )
    assert Notification.objects.filter(link="/randomization/pharmacy/to-prepare/").count() == done
    assert Alert.objects.filter(kind=AlertKind.DOSE_TO_PREPARE, participant__in=ids).count() == (
        count
    )
    return run, ids


def _queued_alerts(server) -> list[int]:
    """The alert ids of the tasks waiting in the broker's queue (Celery's message protocol 2:
    the body is [args, kwargs, embed], base64 in JSON)."""
    ids = []
    for raw in server.client().lrange("celery", 0, -1):
        message = json.loads(raw)
        assert message["headers"]["task"] == "safety.alert_deliver"
        _args, kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        ids.append(kwargs["alert_id"])
    return ids


def _dose_alerts(ids: list[int]):
    return Alert.objects.filter(kind=AlertKind.DOSE_TO_PREPARE, participant__in=ids)


def _conninfo() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"], port=s["PORT"]
    )


def _raw_run() -> Run:
    with psycopg.connect(_conninfo(), autocommit=True) as setup:
        setup.execute(
            "CREATE TABLE bench_raw_slot (id serial PRIMARY KEY, list_id int NOT NULL, "
            "sequence int NOT NULL, participant_id int UNIQUE, UNIQUE (list_id, sequence))"
        )
        setup.execute(
            "INSERT INTO bench_raw_slot (list_id, sequence) "
            "SELECT l, s FROM generate_series(1, 2) l, generate_series(1, %s) s",
            [TOTAL],
        )

    server = _ServerCpu()

    def work(index: int) -> None:
        with psycopg.connect(_conninfo()) as db:
            pid = db.execute("SELECT pg_backend_pid()").fetchone()[0]
            db.commit()
            before = _backend_cpu(pid)
            for k in range(EACH):
                while True:  # a waiter that finds its row taken gets no row: try again
                    row = db.execute(
                        "SELECT id FROM bench_raw_slot WHERE list_id = %s AND participant_id "
                        "IS NULL ORDER BY sequence LIMIT 1 FOR UPDATE",
                        [1 + k % 2],
                    ).fetchone()
                    if row is not None:
                        break
                    db.rollback()
                db.execute(
                    "UPDATE bench_raw_slot SET participant_id = %s WHERE id = %s",
                    [index * EACH + k, row[0]],
                )
                db.commit()
            server.add(before, _backend_cpu(pid))

    try:
        run = _run_threads(work, server)
        with psycopg.connect(_conninfo()) as check:
            rows = check.execute(
                "SELECT list_id, sequence, participant_id FROM bench_raw_slot "
                "WHERE participant_id IS NOT NULL"
            ).fetchall()
        _assert_no_duplicates_no_gaps(rows)
    finally:
        with psycopg.connect(_conninfo(), autocommit=True) as setup:
            setup.execute("DROP TABLE bench_raw_slot")
    return run


def test_slot_assign_under_20_threads_against_a_raw_locking_loop(
    monkeypatch, bench_record, own_redis, broker
):
    trial = _service_set_up(monkeypatch, participants=2 * (TOTAL + THREADS * WARM_UP))

    # Production: a broker; the e-mail is handed over after each commit and left to a worker.
    broker(own_redis.url)
    _warm_up, warm_ids = _service_run(trial, each=WARM_UP)
    service, ids = _service_run(trial)
    alerts = _dose_alerts(warm_ids + ids)
    assert not alerts.filter(sent_at__isnull=False).exists()  # not sent in the assigning thread
    queued = _queued_alerts(own_redis)
    assert sorted(queued) == sorted(alerts.values_list("pk", flat=True))  # one task each
    for alert_id in queued:  # what the worker does with each task
        assert alert_deliver(alert_id=alert_id)
    assert not alerts.filter(sent_at__isnull=True).exists()
    assert len(mail.outbox) == len(queued)

    # Without a broker (development, the tests): the delivery runs in the assigning thread.
    app.conf.task_always_eager = True  # the broker fixture puts it back
    _warm_up, warm_ids = _service_run(trial, each=WARM_UP)
    eager, eager_ids = _service_run(trial)
    assert not _dose_alerts(warm_ids + eager_ids).filter(sent_at__isnull=True).exists()
    assert len(mail.outbox) == trial.done
    assert own_redis.client().llen("celery") == len(queued)  # nothing more handed over

    raw_run = _raw_run()
    ours, raw = TOTAL / service.seconds, TOTAL / raw_run.seconds
    without_broker = TOTAL / eager.seconds
    print(
        f"\nrandomization, {THREADS} threads × {EACH}: slot_assign with a broker {ours:,.0f}/s "
        f"({service.seconds:.1f} s, load {service.load[0]:.1f}-{service.load[1]:.1f}), "
        f"without (e-mail sent in the thread) {without_broker:,.0f}/s ({eager.seconds:.1f} s, "
        f"load {eager.load[0]:.1f}-{eager.load[1]:.1f}), raw SELECT FOR UPDATE + UPDATE "
        f"{raw:,.0f}/s ({raw_run.seconds:.1f} s, load {raw_run.load[0]:.1f}-"
        f"{raw_run.load[1]:.1f}); no duplicates, no gaps in any; CPU per assignment: slot_assign "
        f"{service.per_assignment_ms()}, without a broker {eager.per_assignment_ms()}, raw "
        f"{raw_run.per_assignment_ms()}"
    )
    bench_record(
        measure=f"randomization, {THREADS} threads x {EACH} (assignments/s)",
        ours=ours,
        baseline=raw,
        unit="/s",
        ratio=ours / raw,
        goal=">= 0.50 of raw",
        met=ours / raw >= 0.5,
        details={
            "configuration": "a broker (redis-server of the test's own); e-mails by the worker",
            "service_seconds": service.seconds,
            "raw_seconds": raw_run.seconds,
            "service_load_average": service.load,
            "raw_load_average": raw_run.load,
            "service_cpu_per_assignment": service.per_assignment_ms(),
            "raw_cpu_per_assignment": raw_run.per_assignment_ms(),
            "without_broker": {
                "per_second": without_broker,
                "ratio": without_broker / raw,
                "seconds": eager.seconds,
                "load_average": eager.load,
                "cpu_per_assignment": eager.per_assignment_ms(),
            },
        },
    )
