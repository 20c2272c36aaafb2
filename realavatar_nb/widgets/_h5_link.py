"""An H5 link on screen (a QR code for the phone, the link, its live countdown), and the callback URL
the phone comes back with.

The link is usable by whoever holds it until it expires, so it leaves the page (QR code, anchor
and text) the moment it stops being needed, and a notebook saved afterwards holds none of it. A
link that is not http(s) is never drawn at all.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from .._exceptions import CallbackParseError, MalformedResponseError
from .._ledger import fingerprint
from .._models import CallbackResult, VerificationSession, parse_callback
from .._urls import is_http_url
from ._countdown import Countdown
from ._qr import qr_png

__all__ = ["REFUSED_LINK", "CallbackBox", "LinkPanel", "callback_of"]

REFUSED_LINK = "The provider sent a link that is not http(s); not shown."


class LinkPanel(widgets.HBox):
    """A QR code beside the link and a countdown; ``show`` draws a link, ``hide`` clears it."""

    def __init__(self) -> None:
        self.qr = widgets.Image(format="png", width=240, height=240)
        self.link = widgets.HTML()
        self.link_text = widgets.Text(description="Link", disabled=True, layout=widgets.Layout(width="100%"))
        self.countdown = Countdown(total=120.0)
        # The right column takes what the QR code leaves, and no more (a 100% width would overflow the row).
        column = widgets.VBox([self.link, self.link_text, self.countdown], layout={"flex": "1 1 0%"})
        super().__init__([self.qr, column])

    def show(self, session: VerificationSession, seconds_left: float, provider: str) -> None:
        """Draw the session's link with a full countdown bar of ``seconds_left``.

        Raises ``MalformedResponseError`` (and draws nothing) when ``provider`` sent a link that is not http(s).
        """
        link = session.h5_link.reveal()
        if not is_http_url(link):
            # JupyterLab's HTML widget does not sanitise: a javascript: href would run in the notebook's page,
            # and its QR code would hand the same thing to a phone. Neither is drawn; the link is not repeated.
            raise MalformedResponseError(
                f"{REFUSED_LINK} Press 'New link' to try again; if it happens again, {provider}'s "
                "answer is broken: report it to them.",
                provider=provider,
                field="h5_link",
            )
        self.qr.value = qr_png(link)
        self.link.value = (
            f'<a href="{html.escape(link)}" target="_blank" rel="noopener">Open the H5 page</a> '
            "or scan the code with the person's phone"
        )
        self.link_text.value = link
        self.countdown.total = max(seconds_left, 1.0)  # the bar starts full

    def tick(self, seconds_left: float) -> None:
        """Send the countdown the seconds the link has left (the page counts on by itself between ticks)."""
        self.countdown.seconds_left = max(seconds_left, 0.0)
        self.countdown.running = seconds_left > 0

    def hide(self, label: str) -> None:
        """Clear the link, its QR code and its text; the countdown shows ``label`` instead of seconds."""
        self.qr.value = b""
        self.link.value = ""
        self.link_text.value = ""
        self.countdown.running = False
        self.countdown.label = label


class CallbackBox(widgets.HBox):
    """A text box and a button for the callback URL; the button hands the pasted text to ``on_submit``."""

    def __init__(self, on_submit: Callable[[str], Any]) -> None:
        self.text = widgets.Text(placeholder="…or paste the callback URL the phone opened", layout={"width": "60%"})
        self.button = widgets.Button(description="Check")
        self.button.on_click(lambda _: on_submit(self.text.value))
        super().__init__([self.text, self.button])


def callback_of(url: str, session: VerificationSession | None) -> CallbackResult:
    """Return the result a callback URL carries for ``session`` (None: no link is waiting).

    Raises ``CallbackParseError`` when the URL is not a callback, no link is waiting, or the URL is
    the callback of another session (its byted token does not match the link's).
    """
    result = parse_callback(url)
    if session is None:
        raise CallbackParseError("There is no link waiting for a result: create one first ('New link').")
    if fingerprint(result.byted_token) != fingerprint(session.byted_token):
        raise CallbackParseError(
            "That callback URL belongs to another session, not this link. Paste the address the phone opened "
            "after this QR code."
        )
    return result
