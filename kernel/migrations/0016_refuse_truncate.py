"""TRUNCATE skips row triggers: the append-only security log and audit trail refuse it with a
statement trigger (issue 20, finding 9; docs/security.md, "Append-only tables").

One exception, for the test suite's flush between transactional tests: the table's owner (the
migration role) that has said so in its session (`SET trialedc.allow_truncate = 'on'`). The
owner can drop the trigger anyway, so this gives it nothing new; the application role, which
must not own the schema (docs/deployment.md), is refused whatever it sets. The audit tables get
the same trigger after every migrate (datamanagement.guards.install_history_triggers).
"""

from django.db import migrations

REFUSE_TRUNCATE = """
CREATE OR REPLACE FUNCTION trialedc_refuse_truncate() RETURNS trigger AS $$
BEGIN
    IF current_setting('trialedc.allow_truncate', true) = 'on' AND pg_has_role(
        current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER'
    ) THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION '% is append-only: TRUNCATE is refused', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER security_log_refuse_truncate BEFORE TRUNCATE ON trialedc_securityevent
    FOR EACH STATEMENT EXECUTE FUNCTION trialedc_refuse_truncate();
"""

DROP_REFUSE_TRUNCATE = """
DROP TRIGGER IF EXISTS security_log_refuse_truncate ON trialedc_securityevent;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("trialedc", "0015_security_event_password_set_by_admin"),
    ]

    operations = [migrations.RunSQL(REFUSE_TRUNCATE, DROP_REFUSE_TRUNCATE)]
