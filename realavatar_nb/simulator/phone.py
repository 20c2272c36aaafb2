"""A stand-in for the person's phone, for unattended runs on the emulator: it opens the H5 link and
presses Pass (or Fail) as that person, the way the tutorial's reader would on a real phone.

Unlike ``Sandbox(autopilot=…)``, which passes every session as one configured person, the phone
answers as the launcher's own person, so a batch of several people is verified as themselves and
a stray photo of someone else is still caught as ``FaceMismatch``. It answers only the emulator's
pages (their links carry ``configId=sandbox-liveness``): a real liveness check needs the real person.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from .._exceptions import ConfigurationError

__all__ = ["answer", "play_phone"]

SANDBOX_PAGE = "configId=sandbox-liveness"
_pending: set[asyncio.Task[Any]] = set()


async def answer(link: str, *, person: str, outcome: str = "pass") -> str:
    """Press Pass (or Fail) on the emulator's H5 page at ``link`` as ``person``; return the callback URL.

    Returns ``""`` when the session has no callback to redirect to. Raises ``ConfigurationError`` for
    a link that is not the emulator's, and when the page refuses (expired, already used).
    """
    if SANDBOX_PAGE not in link:
        raise ConfigurationError("Only the emulator's H5 pages can be answered for a person; a real one needs them.")
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.post(link, data={"outcome": outcome, "person": person}, follow_redirects=False)
    if response.status_code in (302, 303):
        return str(response.headers["location"])
    if response.status_code == 200:
        return ""
    raise ConfigurationError(f"The emulator's H5 page refused the answer (HTTP {response.status_code}): the link "
                             f"has expired or was used. Make a new link.")  # fmt: skip


def play_phone(launcher: Any, *, person: str | None = None, outcome: str = "pass", after: float = 2.0) -> None:
    """Answer each link ``launcher`` shows, as its person, ``after`` seconds after the link appears.

    ``launcher`` is a ``VerificationLauncher`` (anything with ``session_id``, ``session`` and
    ``person``, observable through traitlets). Call it in a notebook cell; the answers run as tasks
    on the kernel's loop.
    """

    def on_session(change: dict[str, Any]) -> None:
        session = launcher.session
        if not change.get("new") or session is None:
            return
        who = person or launcher.person or "someone"
        task = asyncio.ensure_future(_later(session.h5_link.reveal(), who, outcome, after))
        _pending.add(task)
        task.add_done_callback(_pending.discard)

    launcher.observe(on_session, names="session_id")
    if launcher.session_id:
        on_session({"new": launcher.session_id})


async def _later(link: str, person: str, outcome: str, after: float) -> None:
    await asyncio.sleep(after)
    await answer(link, person=person, outcome=outcome)
