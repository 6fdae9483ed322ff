from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DataManagementConfig(AppConfig):
    name = "datamanagement"
    verbose_name = _("Data management")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate, pre_delete, pre_save

        from kernel import home
        from outcomes import hooks as outcomes_hooks
        from outcomes import signals as outcomes_signals
        from participants import signals as participants_signals
        from participants import timeline

        from . import guards, selectors, services

        # Locks, SDV, signatures and queries on every change the outcomes services make.
        outcomes_signals.data_changing.connect(
            services.on_data_changing, dispatch_uid="dm_data_changing"
        )
        outcomes_signals.crf_saved.connect(services.on_crf_saved, dispatch_uid="dm_crf_saved")
        # Its reads before and after a CRF's write, run with crf_save's own in one round trip
        # each (issue 24).
        outcomes_hooks.crf_changing_reads(services.crf_changing_reads)
        outcomes_hooks.crf_saved_reads(services.crf_changed_reads)
        outcomes_signals.participant_data_changed.connect(
            services.on_participant_data_changed, dispatch_uid="dm_participant_data_changed"
        )
        outcomes_signals.check_refused.connect(
            services.on_check_refused, dispatch_uid="dm_check_refused"
        )
        # And on the casebook's records of no visit the participants services save (issue 19).
        participants_signals.record_changing.connect(
            services.on_record_changing, dispatch_uid="dm_record_changing"
        )
        participants_signals.record_saved.connect(
            services.on_record_saved, dispatch_uid="dm_record_saved"
        )
        participants_signals.participant_enrolled.connect(
            services.on_participant_enrolled, dispatch_uid="dm_participant_enrolled"
        )
        # Backstop of the locks for every audited model, whatever code path saves it.
        pre_save.connect(guards.refuse_change_to_locked_data, dispatch_uid="dm_lock_guard_save")
        pre_delete.connect(guards.refuse_change_to_locked_data, dispatch_uid="dm_lock_guard_delete")
        # Append-only history tables, for every app's history (docs/datamanagement.md).
        post_migrate.connect(guards.install_history_triggers, dispatch_uid="dm_history_triggers")

        timeline.section(
            title=_("Casebook: signatures, locks and queries"),
            template="datamanagement/_timeline_section.html",
            permission="datamanagement.view_signature",
            order=40,
        )
        home.nav(
            label=_("Queries"),
            url_name="datamanagement:queries",
            permission="datamanagement.view_query",
            order=50,
            group="data",
        )
        home.nav(
            label=_("Record status"),
            url_name="datamanagement:record_status",
            permission="datamanagement.view_query",
            order=49,
            group="data",
        )
        home.nav(
            label=_("Awaiting my signature"),
            url_name="datamanagement:worklist_signatures",
            permission="datamanagement.sign_records",
            order=47,
            group="data",
        )
        home.nav(
            label=_("SDV queue"),
            url_name="datamanagement:worklist_sdv",
            permission="datamanagement.verify_source_data",
            order=48,
            group="data",
        )
        home.nav(
            label=_("Query worklist"),
            url_name="datamanagement:worklist_queries",
            permission="datamanagement.view_query",
            order=51,
            group="data",
        )
        home.nav(
            label=_("Audit log"),
            url_name="datamanagement:audit_log",
            permission="datamanagement.view_trial_audit_log",
            order=80,
            group="data",
        )
        home.nav(
            label=_("Locks"),
            url_name="datamanagement:locks",
            permission="datamanagement.lock_data",
            order=85,
            group="data",
        )
        home.card(
            title=_("Open queries"),
            text=_("Queries on CRF fields waiting for an answer or a close-out."),
            url_name="datamanagement:worklist_queries",
            permission="datamanagement.view_query",
            action=_("Open the query worklist"),
            count=selectors.queries_waiting_count,
            # The list opens on what the card counts: answered ones for the data manager to
            # close, open ones for the site to answer.
            query=lambda user: {"state": selectors.query_worklist_state_for(user) or "waiting"},
            order=40,
        )
        home.card(
            title=_("Awaiting your signature"),
            text=_("Visits complete and not signed, and signatures a change voided."),
            url_name="datamanagement:worklist_signatures",
            permission="datamanagement.sign_records",
            action=_("Review and sign"),
            count=selectors.awaiting_signature_count,
            order=38,
        )
        home.card(
            title=_("SDV queue"),
            text=_("Complete CRFs to verify against the source, in the monitoring plan's order."),
            url_name="datamanagement:worklist_sdv",
            permission="datamanagement.verify_source_data",
            action=_("Open the SDV queue"),
            count=selectors.sdv_queue_count,
            order=39,
        )
        home.card(
            title=_("Notifications"),
            text=_("Source-data marks cleared by a change, records unlocked after you signed."),
            url_name="datamanagement:notifications",
            permission="datamanagement.view_notification",
            action=_("Read your notifications"),
            count=selectors.unread_notifications_count,
            order=95,
        )
