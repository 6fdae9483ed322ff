"""The assignment in one statement (issue 24, docs/randomization.md "Assignment",
docs/performance.md): `randomization_assign(...)`, a PL/pgSQL function that services.slot_assign
calls once. It does, in one transaction and in the same order as the ORM code it replaces, every
check and every write of an assignment; each refusal is raised with its own SQLSTATE (class RZ)
and a JSON DETAIL from which the service builds the same exception and message as before.

Why: with the lock held for three statements the service was bound by the CPU of ~10 ORM
statements per assignment, against the raw loop's 3. The trial's numbers (phase targets, the
visit schedule, the statuses, the words of the audit rows and of the pharmacy notice) come from
Python at each call (kernel/trial.py, gettext): nothing of the configuration is written here.

Refusals (ERRCODE, DETAIL):
  RZ000 no such participant
  RZ001 the participant is at a site outside the user's sites
  RZ002 already randomized                        {"study_id"}
  RZ003 not enrolled                              {"study_id", "status"}
  RZ004 a database or participant lock covers it  {"lock": id}
  RZ005 no list for the phase and stratum         {"phase", "stratum"}
  RZ006 the slot is taken or breaks its seal      {"phase", "stratum"}
  RZ007 the phase holds its target                {"phase", "target"}
  RZ008 no slot left in the list                  {"phase", "stratum", "list", "missing"}
"""

from django.db import migrations

ASSIGN = r"""
CREATE FUNCTION randomization_assign(
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
    v_decision varchar;
    v_phase varchar;
    v_target int;
    v_day0 date;
    v_lock bigint;
    v_phase_count int;
    v_stratum_count int;
    v_list randomization_randomizationlist;
    v_slot randomization_slot;
    v_randomization randomization_randomization;
    v_text text;
    v_emails jsonb;
    v_alert bigint;
BEGIN
    -- 1. The participant, its row only, locked for the whole transaction: one participant
    -- cannot be randomized twice. Each statement below reads the latest committed rows.
    SELECT * INTO v_participant FROM participants_participant
    WHERE id = p_participant FOR UPDATE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'no such participant' USING ERRCODE = 'RZ000';
    END IF;
    IF p_site_scope = 'none' OR (p_site_scope = 'own' AND NOT EXISTS (
        SELECT 1 FROM trialedc_user_sites
        WHERE user_id = p_user AND site_id = v_participant.site_id
    )) THEN
        RAISE EXCEPTION 'outside the user''s sites' USING ERRCODE = 'RZ001';
    END IF;
    IF EXISTS (SELECT 1 FROM randomization_randomization WHERE participant_id = p_participant) THEN
        RAISE EXCEPTION 'already randomized' USING ERRCODE = 'RZ002',
            DETAIL = jsonb_build_object('study_id', v_participant.study_id)::text;
    END IF;
    IF v_participant.status <> p_enrolled THEN
        RAISE EXCEPTION 'not enrolled' USING ERRCODE = 'RZ003',
            DETAIL = jsonb_build_object(
                'study_id', v_participant.study_id, 'status', v_participant.status)::text;
    END IF;

    -- 2. The phase: the gated phase once the latest review of the phase before it opened it.
    -- Read before the counters' lock: a review recorded meanwhile (under that lock) makes this a
    -- refusal (the phase cap), never an assignment past the cap.
    SELECT decision INTO v_decision FROM randomization_phasereview
    WHERE phase = p_review_phase ORDER BY recorded_at DESC, id DESC LIMIT 1;
    v_phase := CASE WHEN v_decision = ANY (p_opening_decisions)
                    THEN p_gated_phase ELSE p_review_phase END;
    v_target := (p_phase_targets ->> v_phase)::int;
    IF v_target IS NULL THEN  -- fail closed: no assignment without a cap
        RAISE EXCEPTION 'no target for phase %', v_phase;
    END IF;

    -- Day 0: the date of the randomization at the participant's site.
    SELECT * INTO v_site FROM trialedc_site WHERE id = v_participant.site_id;
    v_day0 := (p_randomized_at AT TIME ZONE v_site.time_zone)::date;

    -- 3. The locks of data management: a database lock, or a lock of this participant
    -- (datamanagement.selectors.lock_covering: the widest first, then the latest).
    SELECT id INTO v_lock FROM datamanagement_lock
    WHERE unlocked_at IS NULL
      AND (level = 'database' OR (level = 'participant' AND participant_id = p_participant))
    ORDER BY level <> 'database', locked_at DESC, id DESC LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'locked' USING ERRCODE = 'RZ004',
            DETAIL = jsonb_build_object('lock', v_lock)::text;
    END IF;

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

    -- The participant randomized, and its audit row "~" with the user and the reason.
    UPDATE participants_participant SET status = p_randomized
    WHERE id = p_participant RETURNING * INTO v_participant;
    INSERT INTO participants_historicalparticipant (
        id, study_id, status, enrolled_at, site_id, screening_id, identity_id, enrolled_by_id,
        history_date, history_change_reason, history_type, history_user_id)
    VALUES (
        v_participant.id, v_participant.study_id, v_participant.status,
        v_participant.enrolled_at, v_participant.site_id, v_participant.screening_id,
        v_participant.identity_id, v_participant.enrolled_by_id,
        p_now, p_reason, '~', p_user);

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
    )
    SELECT jsonb_agg(e ORDER BY e COLLATE "C") INTO v_emails
    FROM (SELECT DISTINCT btrim(email, E' \t\n\r\f\x0B') AS e FROM pharmacists) s
    WHERE e <> '';
    IF v_emails IS NOT NULL THEN
        INSERT INTO safety_alert (
            kind, subject, body, recipients, participant_id, adverse_event_id, dedupe_key,
            created_at, attempts, last_attempt_at, last_error, next_attempt_at, sent_at)
        VALUES (
            p_alert_kind,
            left(replace(replace(p_alert_subject, '%(site)s', v_site.code), '%%', '%'), 250),
            v_text, v_emails, p_participant, NULL, NULL,
            p_now, 0, NULL, '', p_now, NULL)
        RETURNING id INTO v_alert;
    END IF;

    -- 5. The phase's counter row and the stratum's (services.counters_lock, in its order: the
    -- phase's row, stratum '', first): the one lock that serializes the phase's assignments.
    WITH counters AS (
        INSERT INTO randomization_assignmentcounter (phase, stratum, assigned)
        VALUES (v_phase, '', 0), (v_phase, p_stratum, 0)
        ON CONFLICT (phase, stratum)
        DO UPDATE SET assigned = randomization_assignmentcounter.assigned
        RETURNING stratum, assigned
    )
    SELECT max(assigned) FILTER (WHERE stratum = ''),
           max(assigned) FILTER (WHERE stratum = p_stratum)
    INTO v_phase_count, v_stratum_count FROM counters;

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

DROP = "DROP FUNCTION IF EXISTS randomization_assign"


class Migration(migrations.Migration):
    dependencies = [
        ("randomization", "0006_perf_lists_verify_schedule"),
        ("participants", "0002_pregnancy_test_at_screening"),
        ("outcomes", "0006_safety_assessed_time_help"),
        ("datamanagement", "0005_unlock_request_after_unblinding"),
        ("trialedc", "0021_api_security_event_kinds"),
    ]

    operations = [migrations.RunSQL(ASSIGN, DROP)]
