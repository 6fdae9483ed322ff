"""The assignment's checks in one query, its writes in fewer statements (issue 24, sixth step;
docs/performance.md "Randomization, sixth step").

`randomization_assign` (migration 0008) replaced, the same in every check, lock, write and
refusal (the same SQLSTATEs, in the same order of precedence), in fewer statements: the
executor's start-up of each statement was about a tenth of the function's CPU (perf, fifth step).
- once the participant's row is locked (still its own statement, first: a second assignment of
  the same participant waits there, then reads what the first one committed), the user's sites,
  an earlier randomization, the site, the phase's latest DSMB review and the data manager's locks
  are read in one query instead of five, each as the latest committed rows, and refused in the
  same order as before (RZ001, RZ002, RZ003, no target, RZ004);
- the participant's update and its audit row in one statement (a data-modifying WITH);
- the pharmacists' notices, the outbox row's recipients and the outbox row in one statement (no
  outbox row when no pharmacist has an e-mail address, as before).
The counters' lock, the slot's lock, seal and "taken" check, the phase cap and the
Randomization's insert are unchanged, as are the foreign keys checked before the counters' lock.
"""

from importlib import import_module

from django.db import migrations

ASSIGN = r"""
CREATE OR REPLACE FUNCTION randomization_assign(
    p_participant bigint,
    p_user bigint,
    p_site_scope text,              -- 'own': the user's sites only; 'all'; 'none'
    p_support varchar,
    p_stratum varchar,
    p_randomized_at timestamptz,
    p_now timestamptz,              -- the application's clock: the audit rows' and notices' time
    p_review_phase varchar,         -- TRIAL.gate_review_of_phase
    p_gated_phase varchar,          -- TRIAL.gated_phase
    p_opening_decisions varchar[],  -- models.OPENING_DECISIONS
    p_phase_targets jsonb,          -- {"I": 12, "II": 60}
    p_enrolled varchar,             -- ParticipantStatus.ENROLLED
    p_randomized varchar,           -- ParticipantStatus.RANDOMIZED
    p_reason text,                  -- the participant's audit reason, "Randomized"
    p_visit_codes varchar[],        -- TRIAL.visits, in order
    p_visit_days int[],
    p_visit_before int[],
    p_visit_after int[],
    p_visit_state varchar,          -- VisitState.SCHEDULED
    p_visit_reason text,            -- the visits' audit reason, "Initial entry"
    p_pharmacist_group varchar,     -- Role.PHARMACIST
    p_note_text text,               -- services.pharmacy_message's words, %(id)s %(site)s %(day0)s
    p_note_link varchar,
    p_alert_kind varchar,
    p_alert_subject text            -- %(site)s
) RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    v_participant participants_participant;
    v_site trialedc_site;
    v_checks record;
    v_phase varchar;
    v_target int;
    v_day0 date;
    v_phase_count int;
    v_stratum_count int;
    v_list randomization_randomizationlist;
    v_slot randomization_slot;
    v_randomization randomization_randomization;
    v_text text;
    v_alert bigint;
BEGIN
    -- 1. The participant, its row only, locked for the whole transaction: one participant
    -- cannot be randomized twice. Each statement below reads the latest committed rows.
    SELECT * INTO v_participant FROM participants_participant
    WHERE id = p_participant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such participant' USING ERRCODE = 'RZ000';
    END IF;
    -- The checks, read in one query once the participant's row is locked (the executor's start-up
    -- of each statement was a tenth of the function's CPU, docs/performance.md): the user's
    -- sites, an earlier randomization, the site (Day 0's time zone), the phase's latest DSMB
    -- review and the data manager's locks, each the latest committed rows, as when they were
    -- five statements. The refusals in the same order as before.
    SELECT s AS site,
           p_site_scope = 'none' OR (p_site_scope = 'own' AND NOT EXISTS (
               SELECT 1 FROM trialedc_user_sites
               WHERE user_id = p_user AND site_id = v_participant.site_id
           )) AS outside,
           EXISTS (SELECT 1 FROM randomization_randomization
                   WHERE participant_id = p_participant) AS randomized,
           -- 2. The phase: the gated phase once the latest review of the phase before it opened
           -- it. Read before the counters' lock: a review recorded meanwhile (under that lock)
           -- makes this a refusal (the phase cap), never an assignment past the cap.
           (SELECT decision FROM randomization_phasereview
            WHERE phase = p_review_phase ORDER BY recorded_at DESC, id DESC LIMIT 1) AS decision,
           -- 3. The locks of data management: a database lock, or a lock of this participant
           -- (datamanagement.selectors.lock_covering: the widest first, then the latest).
           (SELECT id FROM datamanagement_lock
            WHERE unlocked_at IS NULL
              AND (level = 'database'
                   OR (level = 'participant' AND participant_id = p_participant))
            ORDER BY level <> 'database', locked_at DESC, id DESC LIMIT 1) AS lock
    INTO v_checks
    FROM trialedc_site s WHERE s.id = v_participant.site_id;
    IF v_checks.outside THEN
        RAISE EXCEPTION 'outside the user''s sites' USING ERRCODE = 'RZ001';
    END IF;
    IF v_checks.randomized THEN
        RAISE EXCEPTION 'already randomized' USING ERRCODE = 'RZ002',
            DETAIL = jsonb_build_object('study_id', v_participant.study_id)::text;
    END IF;
    IF v_participant.status <> p_enrolled THEN
        RAISE EXCEPTION 'not enrolled' USING ERRCODE = 'RZ003',
            DETAIL = jsonb_build_object(
                'study_id', v_participant.study_id, 'status', v_participant.status)::text;
    END IF;
    v_phase := CASE WHEN v_checks.decision = ANY (p_opening_decisions)
                    THEN p_gated_phase ELSE p_review_phase END;
    v_target := (p_phase_targets ->> v_phase)::int;
    IF v_target IS NULL THEN  -- fail closed: no assignment without a cap
        RAISE EXCEPTION 'no target for phase %', v_phase;
    END IF;
    IF v_checks.lock IS NOT NULL THEN
        RAISE EXCEPTION 'locked' USING ERRCODE = 'RZ004',
            DETAIL = jsonb_build_object('lock', v_checks.lock)::text;
    END IF;

    -- Day 0: the date of the randomization at the participant's site.
    v_site := v_checks.site;
    v_day0 := (p_randomized_at AT TIME ZONE v_site.time_zone)::date;

    -- 4. The writes that do not depend on the slot, before the counters' lock.
    -- The visit schedule (outcomes.schedule.visit_dates: target = Day 0 + day, window
    -- target - before .. target + after), visits already there left as they are, and an audit
    -- row "+" per new visit, no user (as outcomes.services.visit_schedule_create writes them).
    WITH visits AS (
        INSERT INTO outcomes_visit (
            participant_id, code, day, target_date, window_start, window_end, state,
            missed_reason)
        SELECT p_participant, c.code, c.day, v_day0 + c.day, v_day0 + c.day - c.before,
               v_day0 + c.day + c.after, p_visit_state, ''
        FROM unnest(p_visit_codes, p_visit_days, p_visit_before, p_visit_after)
             WITH ORDINALITY AS c (code, day, before, after, n)
        WHERE NOT EXISTS (
            SELECT 1 FROM outcomes_visit v WHERE v.participant_id = p_participant AND v.code = c.code)
        ORDER BY c.n
        RETURNING *
    )
    INSERT INTO outcomes_historicalvisit (
        id, code, day, target_date, window_start, window_end, state, missed_reason,
        participant_id, history_date, history_change_reason, history_type, history_user_id)
    SELECT id, code, day, target_date, window_start, window_end, state, missed_reason,
           participant_id, p_now, p_visit_reason, '+', NULL
    FROM visits ORDER BY id;

    -- The participant randomized, and its audit row "~" with the user and the reason, in one
    -- statement.
    WITH updated AS (
        UPDATE participants_participant SET status = p_randomized
        WHERE id = p_participant RETURNING *
    ), audit AS (
        INSERT INTO participants_historicalparticipant (
            id, study_id, status, enrolled_at, site_id, screening_id, identity_id, enrolled_by_id,
            history_date, history_change_reason, history_type, history_user_id)
        SELECT id, study_id, status, enrolled_at, site_id, screening_id, identity_id,
               enrolled_by_id, p_now, p_reason, '~', p_user
        FROM updated
    )
    SELECT * INTO v_participant FROM updated;

    -- The pharmacy (services.pharmacy_message): a notice in the product to every
    -- active pharmacist of the site, in username order, and one e-mail through the outbox
    -- (kernel.alerts.alert_create: recipients sorted, unique, subject cut at 250). The words
    -- name the study ID, the site and Day 0, never the slot: they are written before the
    -- slot is chosen.
    v_text := replace(replace(replace(replace(p_note_text,
        '%(id)s', v_participant.study_id), '%(site)s', v_site.code),
        '%(day0)s', to_char(v_day0, 'YYYY-MM-DD')), '%%', '%');
    WITH pharmacists AS (
        SELECT DISTINCT u.id, u.username, u.email FROM trialedc_user u
        JOIN trialedc_user_sites us ON us.user_id = u.id AND us.site_id = v_participant.site_id
        JOIN trialedc_user_groups ug ON ug.user_id = u.id
        JOIN auth_group g ON g.id = ug.group_id AND g.name = p_pharmacist_group
        WHERE u.is_active
    ), notes AS (
        INSERT INTO datamanagement_notification (recipient_id, text, link, created_at, read_at)
        SELECT id, v_text, p_note_link, p_now, NULL FROM pharmacists
        ORDER BY username
    ), emails AS (
        SELECT jsonb_agg(e ORDER BY e COLLATE "C") AS recipients
        FROM (SELECT DISTINCT btrim(email, E' \t\n\r\f\x0B') AS e FROM pharmacists) s
        WHERE e <> ''
    ), alert AS (  -- none when no pharmacist has an e-mail address
        INSERT INTO safety_alert (
            kind, subject, body, recipients, participant_id, adverse_event_id, dedupe_key,
            created_at, attempts, last_attempt_at, last_error, next_attempt_at, sent_at)
        SELECT
            p_alert_kind,
            left(replace(replace(p_alert_subject, '%(site)s', v_site.code), '%%', '%'), 250),
            v_text, recipients, p_participant, NULL, NULL,
            p_now, 0, NULL, '', p_now, NULL
        FROM emails WHERE recipients IS NOT NULL
        RETURNING id
    )
    SELECT id INTO v_alert FROM alert;

    -- The foreign keys of every row written so far (the visits, the audit rows, the notices,
    -- the outbox row; all DEFERRABLE INITIALLY DEFERRED, as Django creates them) checked now,
    -- before the counters' lock, instead of at the commit while the lock is held; then deferred
    -- again, as they were (every deferrable constraint of the schema is initially deferred:
    -- tests/test_randomization_assign_statement.py checks it). The checks are the same.
    SET CONSTRAINTS ALL IMMEDIATE;
    SET CONSTRAINTS ALL DEFERRED;

    -- 5. The phase's counter row and the stratum's, locked (services.counters_lock's order: the
    -- phase's row, stratum '', first): the one lock that serializes the phase's assignments.
    -- A lock, not a write: the Randomization's insert below moves both counts (the trigger of
    -- migration 0005), one new version of each row per assignment. The rows exist once a list
    -- of the phase is stored (list_store; migration 0008 for the lists stored before); if one
    -- is missing it is created, then locked.
    LOOP
        SELECT max(c.assigned) FILTER (WHERE c.stratum = ''),
               max(c.assigned) FILTER (WHERE c.stratum = p_stratum)
        INTO v_phase_count, v_stratum_count
        FROM (SELECT stratum, assigned FROM randomization_assignmentcounter
              WHERE phase = v_phase AND stratum IN ('', p_stratum)
              ORDER BY stratum FOR UPDATE) c;
        EXIT WHEN v_phase_count IS NOT NULL AND v_stratum_count IS NOT NULL;
        INSERT INTO randomization_assignmentcounter (phase, stratum, assigned)
        VALUES (v_phase, '', 0), (v_phase, p_stratum, 0)
        ON CONFLICT (phase, stratum) DO NOTHING;
    END LOOP;

    -- 6. The next slot of the stratum's list (locked too), free and matching its seal
    -- (blocks.slot_seal: SHA-256 of "checksum|number|sequence,block,block_size,arm,envelope").
    SELECT * INTO v_list FROM randomization_randomizationlist
    WHERE phase = v_phase AND stratum = p_stratum;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no list' USING ERRCODE = 'RZ005',
            DETAIL = jsonb_build_object('phase', v_phase, 'stratum', p_stratum)::text;
    END IF;
    SELECT * INTO v_slot FROM randomization_slot
    WHERE randomization_list_id = v_list.id AND sequence = v_stratum_count + 1
    FOR UPDATE;
    IF FOUND AND (
        EXISTS (SELECT 1 FROM randomization_randomization WHERE slot_id = v_slot.id)
        OR v_slot.seal IS DISTINCT FROM encode(sha256(convert_to(
            v_list.checksum || '|' || v_slot.number || '|' || v_slot.sequence || ','
            || v_slot.block || ',' || v_slot.block_size || ',' || v_slot.arm || ','
            || v_slot.envelope_code, 'UTF8')), 'hex')
    ) THEN
        RAISE EXCEPTION 'tampered' USING ERRCODE = 'RZ006',
            DETAIL = jsonb_build_object('phase', v_phase, 'stratum', p_stratum)::text;
    END IF;
    IF v_phase_count >= v_target THEN
        RAISE EXCEPTION 'phase full' USING ERRCODE = 'RZ007',
            DETAIL = jsonb_build_object('phase', v_phase, 'target', v_target)::text;
    END IF;
    IF v_slot.id IS NULL THEN
        -- Past the last slot, or a slot missing from the middle of the list (the service
        -- verifies the whole list then).
        RAISE EXCEPTION 'list exhausted' USING ERRCODE = 'RZ008',
            DETAIL = jsonb_build_object(
                'phase', v_phase, 'stratum', p_stratum, 'list', v_list.id,
                'missing', (SELECT count(*) FROM randomization_slot
                            WHERE randomization_list_id = v_list.id) > v_stratum_count)::text;
    END IF;

    -- 7. The randomization: participant and slot are unique columns, the backstop. Its insert
    -- moves the counters (trigger of migration 0005).
    INSERT INTO randomization_randomization (
        participant_id, slot_id, respiratory_support, day0, randomized_at, randomized_by_id)
    VALUES (p_participant, v_slot.id, p_support, v_day0, p_randomized_at, p_user)
    RETURNING * INTO v_randomization;

    RETURN jsonb_build_object(
        'randomization', to_jsonb(v_randomization), 'participant', to_jsonb(v_participant),
        'site', to_jsonb(v_site), 'slot', to_jsonb(v_slot), 'list', to_jsonb(v_list),
        'alert', v_alert);
END $$;
"""

# Migration 0008's function, as it was (the reverse of this one): its own text.
PREVIOUS = import_module("randomization.migrations.0008_perf_counters_locked_not_written").ASSIGN


class Migration(migrations.Migration):
    dependencies = [("randomization", "0008_perf_counters_locked_not_written")]

    operations = [migrations.RunSQL(ASSIGN, PREVIOUS)]
