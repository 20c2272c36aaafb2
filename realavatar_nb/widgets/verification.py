"""``VerificationLauncher``: consent, a QR code with a live 120 s countdown, and the outcome.

A person's liveness check, as a researcher runs it from a notebook: ask once for consent
(recorded in the ledger), create a session, show its H5 link as a QR code and a countdown, poll
for the outcome in the background, and record the verified group for the person. A group the
ledger already knows for this person and provider is reused instead of asking them again.

The H5 link is shown only while it can be used: once the session is verified, failed or expired
the QR code and the link are cleared, so a notebook saved afterwards holds neither. The byted
token is never shown at all.
"""

from __future__ import annotations

import asyncio
import html
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

import ipywidgets as widgets
import traitlets

from .._display import printable
from .._exceptions import (
    CallbackParseError,
    InvalidArgumentError,
    PollTimeoutError,
    RealAvatarError,
    VerificationExpiredError,
    VerificationRejectedError,
)
from .._models import CallbackResult, Consent, Verification, VerificationSession
from .._polling import TRANSIENT, iter_status
from ._base import Clock, LiveWidget, Sleep, status_badge
from ._consent import ConsentForm
from ._h5_link import CallbackBox, LinkPanel, callback_of

if TYPE_CHECKING:
    from .._client import AsyncClient

__all__ = ["STATES", "VerificationLauncher"]

STATES: Final = ("consent", "creating", "waiting", "verified", "failed", "expired", "error")
"""Every ``VerificationLauncher.state``, in the order a check goes through them."""

_TICK = 1.0  # seconds between the kernel's looks at the clock (the page ticks on its own between them)
_FAILED_ADVICE = (
    "Ask the person to try again with a new link: good light, face fully in the frame, no glasses or mask, "
    "and follow the on-screen prompts until the page says it is done."
)
# The colour of each state's badge, where it is not the colour of the status of the same name.
_BADGES: Final = {"waiting": "pending", "creating": "pending", "consent": "pending", "error": "failed"}


class VerificationLauncher(LiveWidget):
    """A liveness check for one person: consent, QR code, countdown, outcome; ``await .verified()``."""

    state = traitlets.Unicode(STATES[0], help=f"Where the check stands: {' | '.join(STATES)}").tag(sync=True)
    group_id = traitlets.Unicode(None, allow_none=True, help="The verified group, once there is one").tag(sync=True)
    seconds_left = traitlets.Float(0.0, help="Seconds the current H5 link has left, by the launcher's clock")
    result_code = traitlets.Unicode(None, allow_none=True, help="The H5 page's resultCode, once known")
    session_id = traitlets.Unicode(None, allow_none=True, help="The current session's id (not a secret)")
    renewals = traitlets.Int(0, help="How many new links were made after the first")
    reused = traitlets.Bool(False, help="Whether the group came from the ledger instead of a new check")
    message = traitlets.Unicode("", help="The sentence the launcher shows under its state")

    def __init__(
        self,
        client: AsyncClient,
        *,
        person: str | None = None,
        consent: Consent | None = None,
        callback_url: str | None = None,
        biz_id: str | None = None,
        locale: str | None = None,
        auto_renew: bool = False,
        max_renewals: int = 5,
        reuse: bool = True,
        clock: Clock | None = None,
        sleep: Sleep | None = None,
    ) -> None:
        super().__init__(clock=clock, sleep=sleep)
        self.client = client
        self.person = person
        self.auto_renew = auto_renew
        self.max_renewals = max_renewals
        self._options = {"callback_url": callback_url, "biz_id": biz_id, "locale": locale}
        self._consent = consent
        self._session: VerificationSession | None = None
        self._verification: Verification | None = None
        self._pasted: CallbackResult | None = None
        self._error: BaseException | None = None
        self._run: asyncio.Task[Any] | None = None
        self._callbacks: list[Callable[[Verification], Any]] = []
        self._build()
        known = client.ledger.group_for(client.ledger_name, person) if (person and reuse) else None
        if known:
            self._reuse(known)
        elif consent is not None or (person and client.ledger.consent(person) is not None):
            self._start()
        else:
            self._ask_consent()

    @property
    def session(self) -> VerificationSession | None:
        """The current liveness session (its link and token show masked), if one was created."""
        return self._session

    # -- the view -------------------------------------------------------------------------

    def _build(self) -> None:
        who = f" for {html.escape(printable(self.person))}" if self.person else ""
        self._title = widgets.HTML(
            f"<h3 style='margin:0'>Liveness check{who} · {html.escape(self.client.provider)}</h3>"
        )
        self._consent_box = ConsentForm(self.on_home(self.give_consent), given_by=self.person or "")
        self._link_box = LinkPanel()
        self._qr, self._link, self._link_text = self._link_box.qr, self._link_box.link, self._link_box.link_text
        self.countdown = self._link_box.countdown
        self._status = widgets.HTML()
        self._new_link = widgets.Button(description="New link", icon="refresh")
        self._new_link.on_click(self.on_home(lambda _: self.renew()))
        self._again = widgets.Button(description="Verify again")
        self._again.on_click(self.on_home(lambda _: self.verify_again()))
        self._paste_box = CallbackBox(self.on_home(self._paste_submitted))
        self._paste, self._paste_button = self._paste_box.text, self._paste_box.button
        self.children = [self._title, self._consent_box, self._link_box, self._status, self._paste_box]
        self.observe(self._redraw, names=["state", "message", "group_id"])
        self._redraw()

    def _redraw(self, _: Any = None) -> None:
        showing = self.state in ("creating", "waiting")
        self._consent_box.layout.display = None if self.state == "consent" else "none"
        self._link_box.layout.display = None if showing else "none"
        self._paste_box.layout.display = None if self.state == "waiting" else "none"
        buttons: list[widgets.Widget] = []
        if self.state in ("failed", "expired", "error") and self._consent_given():
            buttons.append(self._new_link)
        if self.state == "verified" and self.reused:
            buttons.append(self._again)
        shown = html.escape(printable(self.message))  # a message may quote a person's name or a provider's text
        self._status.value = f"<div>{status_badge(self._badge(), self.state)} {shown}</div>"
        self.children = [self._title, self._consent_box, self._link_box, self._status, self._paste_box, *buttons]

    def _badge(self) -> str:
        return _BADGES.get(self.state, self.state)

    def fallback_text(self) -> str:
        who = f" for {printable(self.person)}" if self.person else ""
        lines = [f"Liveness check{who} ({self.client.provider}): {self.state}"]
        if self.group_id:
            lines.append(f"  group {self.group_id}{' (reused from the ledger)' if self.reused else ''}")
        if self.state == "waiting":
            lines.append(f"  link valid for {self.seconds_left:.0f} s more")
        if self.result_code:
            lines.append(f"  resultCode {self.result_code}")
        if self.message:
            lines.append(f"  {printable(self.message)}")
        return "\n".join(lines)

    def fallback_html(self) -> str:
        rows = "".join(f"<div>{html.escape(line.strip())}</div>" for line in self.fallback_text().splitlines()[1:])
        who = f" for {html.escape(printable(self.person))}" if self.person else ""
        head = f"<strong>Liveness check{who} ({html.escape(self.client.provider)})</strong>: "
        return f"<div>{head}{status_badge(self._badge(), self.state)}{rows}</div>"

    # -- consent and reuse ----------------------------------------------------------------

    def _consent_given(self) -> bool:
        return self._consent is not None or bool(self.person and self.client.ledger.consent(self.person))

    def _ask_consent(self) -> None:
        self.state = "consent"
        self.message = "Before the first link: who consents, for what, and confirm they agree."

    def give_consent(self, given_by: str, purpose: str) -> None:
        """Record the person's consent (what the form's button does) and create the first link."""
        try:  # Consent refuses a blank name or purpose; the form says so instead of raising into the frontend
            consent = Consent(given_by=given_by.strip(), purpose=purpose.strip())
        except (InvalidArgumentError, AttributeError):  # blank, or not text at all
            self.message = "Both the consenting person's name and the purpose are needed."
            return
        self._consent = consent
        if self.person is None:
            self.person = consent.given_by
        self.client.ledger.record_consent(self.person, self._consent)
        self._start()

    def _reuse(self, group_id: str) -> None:
        self.reused = True
        self._verification = Verification(status="verified", group_id=group_id)
        self.group_id = group_id
        self.message = (
            f"{self.person} already has a verified group in the ledger; it is reused. "
            "Press 'Verify again' for a new liveness check."
        )
        self.state = "verified"
        self._notify()

    def verify_again(self) -> None:
        """Ignore the group found in the ledger and run a new liveness check (the 'Verify again' button)."""
        self.reused = False
        self.group_id = None
        self._verification = None
        if self._consent_given():
            self._start()
        else:
            self._ask_consent()

    # -- sessions -------------------------------------------------------------------------

    def _start(self) -> None:
        self.state = "creating"
        self.message = "Creating a link…"
        self._error = None
        self._run = self._spawn(self._session_flow())

    def renew(self) -> None:
        """Give up on the current link and create a new one (the 'New link' button)."""
        if self._run is not None and not self._run.done():
            self._run.cancel()
        if self._session is not None:
            self.renewals += 1
        self._session = None
        self._pasted = None
        self.result_code = None
        self._start()

    async def _session_flow(self) -> None:
        consent = self._consent if self.person else None
        session = await self.client.create_verification(person=self.person, consent=consent, **self._options)
        self._session, self.session_id = session, session.id
        self._link_box.show(session, session.seconds_left(self._clock()), self.client.provider)
        self.state, self.message = "waiting", "Scan the code with the person's phone; the link lives 120 s."
        self._tick(session)
        looks = iter_status(
            lambda: self._look(session),
            is_terminal=lambda verification: verification.status != "pending",
            interval=self.client.poll_interval,
            sleep=lambda seconds: self._count_down(session, seconds),
            what="the liveness check",
        )
        async for verification in looks:
            if verification.status != "pending":
                self._settle(verification)

    async def _look(self, session: VerificationSession) -> Verification:
        """Return one look at the session; a pending one whose link has run out is expired."""
        left = session.seconds_left(self._clock())
        try:
            verification = await self.client.get_verification(session, result_code=self._code())
        except TRANSIENT as exc:  # iter_status waits a few of these out; say why nothing moves meanwhile
            self.message = f"Could not reach {self.client.provider} ({type(exc).__name__}); trying again."
            raise
        if verification.status == "pending" and left <= 0:
            return Verification(status="expired", session_id=session.id)
        return verification

    def _tick(self, session: VerificationSession) -> float:
        """Send the countdown the seconds the link has left, and return them."""
        left = session.seconds_left(self._clock())
        self.seconds_left = max(left, 0.0)
        self._link_box.tick(left)
        return left

    async def _count_down(self, session: VerificationSession, seconds: float) -> None:
        """Sleep ``seconds`` between looks a tick at a time, keeping the countdown current; stop when the link ends."""
        until = self._clock() + timedelta(seconds=seconds)
        while (left := self._tick(session)) > 0 and (now := self._clock()) < until:
            await self._sleep(min(_TICK, (until - now).total_seconds(), max(left, 0.05)))

    def _code(self) -> str | None:
        return self._pasted.result_code if self._pasted is not None else None

    def _settle(self, verification: Verification) -> None:
        """Show a session's outcome; on a verified one, record and announce the group."""
        self._verification = verification
        self.result_code = verification.result_code or self.result_code
        self.seconds_left = 0.0
        if verification.verified:
            self._link_box.hide("verified")
            self.group_id = verification.group_id
            self.message = f"Verified: group {verification.group_id} is bound to {self.person or 'this person'}."
            self.state = "verified"
            for callback in self._callbacks:
                self._call(callback, verification)
        elif verification.status == "failed":
            self._link_box.hide("failed")
            self.message = f"The check failed (resultCode {verification.result_code or '?'}). {_FAILED_ADVICE}"
            self.state = "failed"
        else:
            self._link_box.hide("expired")
            self.message = "The link expired before the person finished. Press 'New link' for a fresh 120 s."
            self.state = "expired"
        self.publish()
        self._notify()
        if self.state in ("failed", "expired") and self.auto_renew and self.renewals < self.max_renewals:
            self.renew()

    def _call(self, callback: Callable[[Verification], Any], verification: Verification) -> None:
        try:
            result = callback(verification)
            if asyncio.iscoroutine(result):
                self._spawn(result)
        except Exception as exc:  # a user's callback must not break the launcher
            self.show_error(exc)

    def _on_error(self, text: str) -> None:
        if self.state == "verified":  # an error in a callback after the fact: say so, keep the outcome
            self.message = f"Verified, but an on_verified callback failed: {text}"
            return
        self._link_box.hide("error")
        self.message = text
        self.state = "error"
        self._notify()

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled() and task.exception() is not None:
            self._error = task.exception()
        super()._task_done(task)

    # -- the callback URL -----------------------------------------------------------------

    def paste_callback(self, url: str) -> CallbackResult:
        """Accept the callback URL the phone opened and look at the outcome at once.

        Raises ``CallbackParseError`` when the URL is not a callback, or is the callback of
        another session (its byted token does not match this link's).
        """
        self._pasted = result = callback_of(url, self._session if self.state == "waiting" else None)
        self.result_code = result.result_code
        if self._session is not None:  # callback_of raised without one
            self._spawn(self._look_now(self._session))
        return result

    def _paste_submitted(self, url: str) -> None:
        try:
            self.paste_callback(url)
        except CallbackParseError as exc:
            self.message = str(exc)
        else:
            self._paste.value = ""
            self.message = "Callback accepted; asking for the outcome…"

    async def _look_now(self, session: VerificationSession) -> None:
        verification = await self.client.get_verification(session, result_code=self._code())
        if verification.status != "pending" and self._session is session and self.state == "waiting":
            if self._run is not None:
                self._run.cancel()
            self._settle(verification)

    # -- awaiting -------------------------------------------------------------------------

    def on_verified(self, callback: Callable[[Verification], Any]) -> None:
        """Call ``callback(verification)`` once the person is verified (at once if they already are)."""
        self._callbacks.append(callback)
        if self._verification is not None and self._verification.verified:
            self._call(callback, self._verification)

    async def verified(self, timeout: float | None = None) -> Verification:
        """Return the ``Verification`` once the person is verified.

        Raises ``VerificationRejectedError`` or ``VerificationExpiredError`` when the current link
        ends without it (press 'New link' and await again; ``auto_renew=True`` renews by itself),
        and ``PollTimeoutError`` after ``timeout`` seconds.
        """
        if self.state == "creating" and self._run is None:  # built outside a running loop: start now
            self._start()
        try:
            return await asyncio.wait_for(self._outcome(), timeout)
        except TimeoutError:
            raise PollTimeoutError(
                f"Waited {timeout:g} s for the liveness check; it is {self.state}. Await launcher.verified() again.",
                last=self._verification,
            ) from None
        finally:
            self.publish()

    async def _outcome(self) -> Verification:
        while True:
            if self.state == "verified" and self._verification is not None:
                return self._verification
            if self.state == "error":
                if isinstance(self._error, RealAvatarError):
                    raise self._error
                raise VerificationRejectedError(f"The liveness check could not go on: {self.message}")
            if self.state in ("failed", "expired") and not (self.auto_renew and self.renewals < self.max_renewals):
                if self.state == "failed":
                    raise VerificationRejectedError(
                        f"The liveness check failed (resultCode {self.result_code}). Press 'New link' (or "
                        f"launcher.renew()) and await launcher.verified() again.",
                        result_code=self.result_code,
                    )
                raise VerificationExpiredError(
                    "The link expired before the person finished. Press 'New link' (or launcher.renew()) and "
                    "await launcher.verified() again."
                )
            await self._next_change()
