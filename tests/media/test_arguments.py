"""Arguments that are not paths at all get one line naming the argument and what it takes, never a bare TypeError."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import realavatar_nb as ra
from realavatar_nb.media.probe import probe
from realavatar_nb.media.validate import validate, validate_folder
from realavatar_nb.samples import make_image


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    media = tmp_path_factory.mktemp("arguments")
    make_image(media / "front.jpg", width=800, height=1000)
    make_image(media / os.fsdecode(b"caf\xe9.jpg"), width=800, height=1000)  # a non-UTF-8 name
    return media


def _one_line(error: BaseException) -> str:
    text = str(error)
    assert "\n" not in text and "\x00" not in text
    return text


@pytest.mark.parametrize(("value", "shown"), [(None, "None"), (123, "123"), (4.5, "4.5")])
def test_validate_folder_of_a_non_path_names_the_argument(value: object, shown: str) -> None:
    with pytest.raises(ra.InvalidArgumentError) as caught:
        validate_folder(value, progress=False)  # type: ignore[arg-type]
    assert _one_line(caught.value).startswith(
        f"validate_folder(folder={shown}): pass a folder path (str or pathlib.Path)"
    )
    # Callers that caught the bare errors before still catch it, and so does one catching every package error.
    assert isinstance(caught.value, TypeError) and isinstance(caught.value, ValueError)
    assert isinstance(caught.value, ra.RealAvatarError)


def test_validate_folder_accepts_a_bytes_path_as_os_does(folder: Path) -> None:
    as_text = validate_folder(folder, workers=1, progress=False)
    as_bytes = validate_folder(os.fsencode(folder), workers=1, progress=False)
    assert list(as_bytes["name"]) == list(as_text["name"]) == ["caf\\xe9.jpg", "front.jpg"]
    assert list(as_bytes["path"]) == list(as_text["path"]) and all(isinstance(p, str) for p in as_bytes["path"])
    assert as_bytes["ok"].all()  # the undecodable name reached its file


def test_a_nul_character_in_a_path_is_refused_by_name(folder: Path) -> None:
    with pytest.raises(ra.InvalidArgumentError) as caught:
        validate_folder(f"{folder}\x00/etc", progress=False)
    text = _one_line(caught.value)
    assert text.startswith("validate_folder(folder=") and "NUL character (\\x00)" in text


def test_a_bad_entry_in_a_list_of_paths_is_named_by_its_index(folder: Path) -> None:
    with pytest.raises(ra.InvalidArgumentError, match=r"^validate_folder\(folder\[1\]=None\): pass a file path"):
        validate_folder([folder / "front.jpg", None], progress=False)  # type: ignore[list-item]
    with pytest.raises(ra.InvalidArgumentError, match=r"folder\[0\]=.*NUL character"):
        validate_folder(["a\x00b.jpg"], progress=False)


def test_validate_and_probe_of_none_name_their_argument(folder: Path) -> None:
    with pytest.raises(ra.InvalidArgumentError, match=r"^validate\(path=None\): pass a file path \(str or pathlib"):
        validate(None)  # type: ignore[arg-type]
    with pytest.raises(ra.InvalidArgumentError, match=r"^probe\(path=None\): pass a file path"):
        probe(None)  # type: ignore[arg-type]
    with pytest.raises(ra.InvalidArgumentError, match=r"^validate\(path=.*NUL character"):
        ra.validate("front\x00.jpg")
    assert validate(os.fsencode(folder / "front.jpg")).ok


def test_an_object_argument_is_shown_by_its_type_not_its_repr() -> None:
    with pytest.raises(ra.InvalidArgumentError, match=r"^validate\(path=<dict>\): pass a file path"):
        validate({"path": "x" * 10_000})  # type: ignore[arg-type]
