"""Liveness sessions: a link created, then passed, failed or expired; a pass makes the person's group.

A session's timed transitions (the link expiring, autopilot passing it) are computed when it is
next read, from the state's clock, so nothing here sleeps.
"""

from __future__ import annotations

from .backend import Backend
from .records import ALGORITHM_FAILED, RESULT_FAILED, RESULT_PASSED, Group, Session, SimError

__all__ = ["Sessions"]


class Sessions(Backend):
    """The liveness sessions of every account, and the groups their passes create."""

    def create_session(
        self,
        account: str,
        *,
        callback_url: str | None = None,
        project: str = "default",
        lng: str = "zh",
        biz_id: str | None = None,
    ) -> Session:
        now = self.clock()
        with self._lock:
            session = Session(
                token=self.ids.token(now),
                account=account,
                created_at=now,
                expires_at=now + self.config.link_ttl,
                callback_url=callback_url,
                project=project,
                lng=lng,
                biz_id=biz_id,
            )
            self.sessions[session.token] = session
            self._count(account, "sessions")
            self._save("session", session)
            return session

    def _refresh_session(self, session: Session) -> Session:
        now = self.clock()
        if session.state == "pending":
            auto = self.config.autopilot
            if auto is not None and now >= session.created_at + auto and session.created_at + auto < session.expires_at:
                self._finish(session, True, self.config.autopilot_person, session.created_at + auto)
            elif now >= session.expires_at:
                session.state = "expired"
                self._save("session", session)
        return session

    def session(self, account: str, token: str) -> Session:
        """Return the account's session for ``token``; another account's is not found."""
        with self._lock:
            message = f"BytedToken {token!r} not found."
            return self._refresh_session(self._owned(self.sessions, account, token, message, "byted_token"))

    def session_for_page(self, token: str) -> Session | None:
        """Return the session behind an H5 link (any account), refreshed, or ``None``."""
        with self._lock:
            session = self.sessions.get(token)
            return self._refresh_session(session) if session else None

    def _finish(self, session: Session, passed: bool, person: str, at: float) -> None:
        session.finished_at = at
        session.person = person
        if passed:
            session.state = "verified"
            session.result_code = RESULT_PASSED
            session.algorithm_code = "0"
            group = Group(
                id=self.ids.dated("group", at),
                account=session.account,
                person=person,
                token=session.token,
                created_at=at,
                project=session.project,
            )
            self.groups[group.id] = group
            session.group_id = group.id
            self._count(session.account, "groups")
            self._save("group", group)
        else:
            session.state = "failed"
            session.result_code = RESULT_FAILED
            session.algorithm_code = ALGORITHM_FAILED
        self._save("session", session)

    def complete(self, token: str, *, passed: bool, person: str) -> Session:
        """Record what the person did on the H5 page; an expired or finished link changes nothing."""
        with self._lock:
            session = self.session_for_page(token)
            if session is None:
                raise SimError("not_found", "This verification link does not exist.")
            if session.state == "expired":
                raise SimError("expired", "This verification link has expired.")
            if session.state != "pending":
                raise SimError("conflict", "This verification link has already been used.")
            self._finish(session, passed, person.strip() or "anonymous", self.clock())
            return session

    def result(self, account: str, token: str) -> Session:
        """Return the session for a result query; ``group_id`` is set only once verified."""
        session = self.session(account, token)
        if session.state == "verified" and self.clock() > (session.finished_at or 0) + self.config.token_ttl:
            raise SimError("expired", "BytedToken has expired.", field="byted_token")
        return session
