"""Liveness sessions: create one (consent first), look at its outcome, wait until the person is verified."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import replace

from ._arguments import person_name
from ._channel import Channel
from ._exceptions import (
    ConsentRequiredError,
    InvalidArgumentError,
    VerificationExpiredError,
    VerificationRejectedError,
)
from ._ledger import Ledger
from ._models import Consent, Verification, VerificationSession
from ._redact import register_secret
from ._types import VERIFICATION_TERMINAL
from .providers.base import RETRY

__all__ = ["Verifications"]


class Verifications:
    """A provider's liveness sessions, each recorded in the ledger the moment it exists."""

    def __init__(self, channel: Channel, ledger: Ledger, ledger_name: str, default_callback: str | None) -> None:
        self._channel = channel
        self._ledger = ledger
        self._ledger_name = ledger_name
        self._default_callback = default_callback  # the emulator's own page, when there is no other

    async def create(
        self,
        callback_url: str | None,
        biz_id: str | None,
        locale: str | None,
        person: str | None,
        consent: Consent | None,
    ) -> VerificationSession:
        """Return a new session; with ``person``, their consent must be given or already recorded."""
        person = person_name(person)
        self._check_consent(person, consent)
        callback = callback_url or self._channel.settings.callback_url or self._default_callback
        adapter = self._channel.adapter
        request = adapter.build_create_verification(callback_url=callback, biz_id=biz_id, locale=locale, project=None)
        # A session costs nothing until a person uses it and expires in 120 s: sending it again after
        # a failure can at worst leave an unused one behind, never a charge.
        request.extensions[RETRY] = True
        session: VerificationSession = await self._channel.drive(
            adapter.parse_create_verification(await self._channel.send(request, "verification"), callback_url=callback)
        )
        register_secret(session.byted_token)  # masked in every log line from now on
        register_secret(session.h5_link)
        if person:
            session = replace(session, person=person)
        self._ledger.record_session(session, person=person, biz_id=biz_id, provider=self._ledger_name)
        return session

    def _check_consent(self, person: str | None, consent: Consent | None) -> None:
        """Record the consent given, or refuse a person whose consent is neither given nor recorded."""
        if consent is not None and not isinstance(consent, Consent):
            raise InvalidArgumentError(f"consent={consent!r}: pass ra.Consent(given_by=..., purpose=...) or None.")
        if not person:
            return
        if consent is not None:
            self._ledger.record_consent(person, consent)
        elif self._ledger.consent(person) is None:
            raise ConsentRequiredError(
                f"No consent is recorded for {person!r}. Ask them first and pass "
                f"consent=ra.Consent(given_by=..., purpose=...)."
            )

    async def get(self, session: VerificationSession, result_code: str | None) -> Verification:
        """Return one look at a session's outcome (``pending`` until the person finishes)."""
        adapter = self._channel.adapter
        request = adapter.build_get_verification(session, result_code=result_code)
        verification: Verification = await self._channel.drive(
            adapter.parse_get_verification(await self._channel.send(request, "verification"), session)
        )
        self._ledger.record_verification(self._ledger_name, session.id, verification)
        return verification

    async def wait(
        self, session: VerificationSession, look: Callable[[], Awaitable[Verification]], timeout: float | None
    ) -> Verification:
        """Return the verified outcome, looking with ``look``; raise if the link expires or the check fails."""
        limit = timeout if timeout is not None else max(session.seconds_left(), 0) + 30
        last: Verification = await self._channel.wait_for(
            look,
            is_terminal=lambda v: v.status in VERIFICATION_TERMINAL,
            interval=self._channel.poll_interval,
            timeout=limit,
            what="the liveness check",
        )
        if last.status == "expired":
            raise VerificationExpiredError("The H5 link expired before the person finished: create a new session.")
        if last.status == "failed":
            raise VerificationRejectedError(
                f"The liveness check failed (resultCode {last.result_code}): ask the person to try again with a "
                f"new session, in good light, face fully visible.",
                result_code=last.result_code,
            )
        return last
