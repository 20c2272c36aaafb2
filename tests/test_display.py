"""printable(): every name reaches a screen as visible text; nothing in it can reorder, hide or act."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from realavatar_nb._display import DisplayMixin, html_table, printable

BIDI = [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u200e", "\u200f", "\u061c"]
INVISIBLE = ["\u00ad", "\u200b", "\u2060", "\u2061", "\u2064", "\ufeff", "\u2028", "\u2029", "\ufff9", "\u180e"]
CONTROLS = [chr(c) for c in (*range(0x20), 0x7F, *range(0x80, 0xA0))]


def _hidden(text: str) -> list[str]:
    return [ch for ch in text if ch in {*BIDI, *INVISIBLE, *CONTROLS}]


@pytest.mark.parametrize("char", BIDI + INVISIBLE + CONTROLS, ids=lambda c: f"U+{ord(c):04X}")
def test_each_hidden_or_acting_character_comes_out_as_a_visible_escape(char: str) -> None:
    shown = printable(f"a{char}b.jpg")
    assert not _hidden(shown)
    code = ord(char)
    short = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
    expected = short.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
    assert shown == f"a{expected}b.jpg"


def test_a_right_to_left_override_no_longer_turns_exe_into_jpg() -> None:
    assert printable("\u202egpj.exe") == "\\u202egpj.exe"


def test_terminal_escapes_cannot_clear_the_screen_or_rewrite_a_line() -> None:
    assert printable("x\x1b[2J\rOK.jpg\n") == "x\\x1b[2J\\rOK.jpg\\n"


def test_non_utf8_bytes_still_show_as_hex_and_bytes_paths_are_accepted() -> None:
    undecodable = os.fsdecode(b"caf\xe9\x1b.jpg")
    assert printable(undecodable) == "caf\\xe9\\x1b.jpg"
    assert printable(b"caf\xe9\x1b.jpg") == "caf\\xe9\\x1b.jpg"


def test_a_lone_surrogate_from_provider_text_is_escaped_not_raised() -> None:
    assert printable("bad\ud800text") == "bad\\ud800text"


@pytest.mark.parametrize(
    "name",
    ["plain.jpg", "café/ünïcode.png", "日本語.mp4", "فارسی\u200cنام.jpg", "👩\u200d👩\u200d👧.jpg", "C:\\Users\\x.jpg"],
)
def test_ordinary_names_joiners_and_backslashes_pass_unchanged(name: str) -> None:
    assert printable(name) == name


@pytest.mark.parametrize("name", ["\u202egpj.exe", "a\x1b[2Jb\r\n\t\x7f\x85", os.fsdecode(b"\xff\x1b"), "x\ud800"])
def test_printable_is_idempotent(name: str) -> None:
    once = printable(name)
    assert printable(once) == once


@dataclass(frozen=True)
class _Named(DisplayMixin):
    name: str

    def _display_title(self) -> str:
        return f"File {self.name}"

    def _display_rows(self) -> list[tuple[str, Any]]:
        return [("name", self.name)]


def test_result_objects_show_names_escaped_in_text_and_html() -> None:
    bundle = _Named("\u202egpj.exe\x1b[2J")._repr_mimebundle_()
    for text in bundle.values():
        assert all(not _hidden(line) for line in text.split("\n"))  # the text form's own line breaks stay
        assert "\\u202egpj.exe\\x1b[2J" in text
    assert "\\u202e" in html_table("t", [("name", "\u202ex")])
