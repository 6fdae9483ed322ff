"""`make bench`: randomization under contention, through the service, against the physical floor.

20 threads × 50 assignments through `randomization.services.slot_assign` (participant row lock,
every list of the phase locked, checksum verification, phase cap, audit row, visit schedule),
against 20 threads × 50 of the minimal raw psycopg loop: `SELECT ... FOR UPDATE` of the next
free slot, `UPDATE` it, commit. After each run: zero duplicates, zero gaps (the used slots of
each list are exactly its first ones, in sequence order).
"""

from __future__ import annotations

import dataclasses
import threading
import time

import psycopg
import pytest
from django.db import connection

from kernel.models import User
from kernel.services import roles_sync, sites_sync, user_set_up
from kernel.trial import TRIAL
from participants import demo as participants_demo
from participants.models import Participant
from randomization import services
from randomization.models import Randomization, RandomizationList
from trialedc.management.commands.load_demo import DEMO_PASSWORD, DEMO_USERS

from ..randomization_factories import phase_two_opened

pytestmark = [pytest.mark.bench, pytest.mark.django_db(transaction=True)]

THREADS, EACH = 20, 50
TOTAL = THREADS * EACH
# One respiratory support per stratum; the threads alternate, so both lists are in use.
SUPPORTS = ("invasive_ventilation", "nasal_cannula")


class _Null:
    def write(self, *args, **kwargs) -> None:
        pass


def _run_threads(work) -> float:
    """Run work(thread_index) in THREADS threads at once; the wall-clock seconds they took."""
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
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - began
    assert not errors, errors[:3]
    return seconds


def _assert_no_duplicates_no_gaps(rows: list[tuple[int, int, int]]) -> None:
    """rows: (list, sequence, participant) of every used slot."""
    participants = [participant for _, _, participant in rows]
    assert len(rows) == TOTAL
    assert len(set(participants)) == TOTAL, "a participant holds two slots"
    assert len({(lst, seq) for lst, seq, _ in rows}) == TOTAL, "a slot was given twice"
    for lst in {lst for lst, _, _ in rows}:
        used = sorted(seq for x, seq, _ in rows if x == lst)
        assert used == list(range(1, len(used) + 1)), f"gap in list {lst}"


def _service_run(monkeypatch) -> float:
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
    participants_demo.load_bulk(participants=TOTAL, seed=1, stdout=_Null())
    statistician = User.objects.get(username="statistician")
    # Phase II opened directly: this measures assignment, not the gate (whose checklist the
    # bulk demo, without day-14 visits done, would not pass).
    phase_two_opened(user=statistician)
    for index, stratum in enumerate(TRIAL.strata):
        services.list_generate(
            phase=TRIAL.gated_phase,
            stratum=stratum.code,
            seed=index,
            user=statistician,
            length=TOTAL,
        )
    # Network scale: the phase cap of this trial (60) would stop the run at 60 assignments.
    phases = tuple(
        dataclasses.replace(p, target_total=10 * TOTAL) if p.code == TRIAL.gated_phase else p
        for p in TRIAL.phases
    )
    monkeypatch.setattr(services, "TRIAL", dataclasses.replace(TRIAL, phases=phases))
    coordinators = {
        u.sites.get().pk: u
        for u in User.objects.filter(username__in=["coordinator", "coordinator2"])
    }
    participants = list(Participant.objects.order_by("pk"))

    def work(index: int) -> None:
        try:
            for k in range(EACH):
                participant = participants[index * EACH + k]
                services.slot_assign(
                    participant=participant,
                    user=coordinators[participant.site_id],
                    respiratory_support=SUPPORTS[k % 2],
                )
        finally:
            connection.close()

    seconds = _run_threads(work)
    _assert_no_duplicates_no_gaps(
        list(
            Randomization.objects.values_list(
                "slot__randomization_list", "slot__sequence", "participant"
            )
        )
    )
    assert RandomizationList.objects.filter(phase=TRIAL.gated_phase).count() == 2
    return seconds


def _conninfo() -> str:
    s = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=s["NAME"], user=s["USER"], password=s["PASSWORD"], host=s["HOST"], port=s["PORT"]
    )


def _raw_run() -> float:
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

    def work(index: int) -> None:
        with psycopg.connect(_conninfo()) as db:
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

    try:
        seconds = _run_threads(work)
        with psycopg.connect(_conninfo()) as check:
            rows = check.execute(
                "SELECT list_id, sequence, participant_id FROM bench_raw_slot "
                "WHERE participant_id IS NOT NULL"
            ).fetchall()
        _assert_no_duplicates_no_gaps(rows)
    finally:
        with psycopg.connect(_conninfo(), autocommit=True) as setup:
            setup.execute("DROP TABLE bench_raw_slot")
    return seconds


def test_slot_assign_under_20_threads_against_a_raw_locking_loop(monkeypatch, bench_record):
    service_seconds = _service_run(monkeypatch)
    raw_seconds = _raw_run()
    ours, raw = TOTAL / service_seconds, TOTAL / raw_seconds
    print(
        f"\nrandomization, {THREADS} threads × {EACH}: slot_assign {ours:,.0f}/s "
        f"({service_seconds:.1f} s), raw SELECT FOR UPDATE + UPDATE {raw:,.0f}/s "
        f"({raw_seconds:.1f} s); no duplicates, no gaps in either"
    )
    bench_record(
        measure=f"randomization, {THREADS} threads x {EACH} (assignments/s)",
        ours=ours,
        baseline=raw,
        unit="/s",
        ratio=ours / raw,
        goal=">= 0.50 of raw",
        met=ours / raw >= 0.5,
        details={"service_seconds": service_seconds, "raw_seconds": raw_seconds},
    )
