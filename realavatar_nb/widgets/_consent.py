"""The consent form the launcher shows before a person's first liveness link."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

__all__ = ["ConsentForm"]


class ConsentForm(widgets.VBox):
    """Name, purpose and an explicit 'they agree'; the button stays disabled until all three are given."""

    def __init__(self, on_submit: Callable[[str, str], Any], *, given_by: str = "") -> None:
        self.given_by = widgets.Text(value=given_by, description="Name", placeholder="who consents")
        self.purpose = widgets.Text(description="Purpose", placeholder="what their likeness is for")
        self.agree = widgets.Checkbox(
            description="They agree to a liveness check and to this use of their likeness", indent=False
        )
        self.button = widgets.Button(description="Record consent", button_style="primary", disabled=True)
        for field in (self.given_by, self.purpose, self.agree):
            field.observe(self._ready, names="value")
        self.button.on_click(lambda _: on_submit(self.given_by.value, self.purpose.value))
        super().__init__([self.given_by, self.purpose, self.agree, self.button])

    def _ready(self, _: Any = None) -> None:
        self.button.disabled = not (self.given_by.value.strip() and self.purpose.value.strip() and self.agree.value)
