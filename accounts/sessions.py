"""The session engine (settings.SESSION_ENGINE): Django's database sessions, the session row
read by a statement compiled once per process (kernel.prepared; issue 24). Every signed-in
request reads it; Django builds and compiles the same `Session.objects.get(...)` each time.

The same statement's condition (this key, not expired at this moment), the same router, the
same answer when there is no such row: no session (a new key at the next save)."""

from __future__ import annotations

import logging

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from kernel.prepared import PreparedRows


def _unexpired_session(_key, session_key, now):
    return Session.objects.filter(session_key=session_key, expire_date__gt=now)


_UNEXPIRED_SESSION = PreparedRows(Session, _unexpired_session, ("text", "datetime"))


class SessionStore(db.SessionStore):
    def _get_session_from_db(self):
        try:
            found = _UNEXPIRED_SESSION.objects(None, self.session_key, timezone.now())
        except SuspiciousOperation as e:  # as Django's: logged, and no session
            logger = logging.getLogger(f"django.security.{e.__class__.__name__}")
            logger.warning(str(e))
            found = []
        if found:
            return found[0]
        self._session_key = None
        return None
