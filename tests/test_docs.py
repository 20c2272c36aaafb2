"""The README stays a front page, and every link in it and in the guides leads somewhere in the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = sorted([ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")])
# [text](target) and ![alt](target), and <img src="target"> for pictures laid out side by side.
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)|<img\s[^>]*\bsrc=\"([^\"]+)\"")
FENCE = re.compile(r"^```.*?^```", flags=re.MULTILINE | re.DOTALL)


def _links(page: Path) -> list[str]:
    text = FENCE.sub("", page.read_text())  # a code sample's brackets are not links
    return [a or b for a, b in LINK.findall(text)]


def _anchors(page: Path) -> set[str]:
    """Return the ids GitHub gives the page's headings."""
    headings = re.findall(r"^#{1,6} (.+)$", FENCE.sub("", page.read_text()), flags=re.MULTILINE)
    return {re.sub(r"[^\w\- ]", "", h.strip().lower()).replace(" ", "-") for h in headings}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_resolves_inside_the_repository(page: Path) -> None:
    links = [link for link in _links(page) if not re.match(r"[a-z]+:", link)]  # http(s), mailto: not ours
    for link in links:
        path, _, anchor = link.partition("#")
        target = (page.parent / path).resolve() if path else page
        assert target.is_relative_to(ROOT), f"{link} leaves the repository"
        assert target.exists(), f"{link}: no such file"
        if anchor:
            assert anchor in _anchors(target), f"{link}: no such heading in {target.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_repository_path_named_in_code_exists(page: Path) -> None:
    named = re.findall(r"`((?:realavatar_nb|tests|bench|notebooks|docs)/[^`\s*<]*)`", page.read_text())
    assert [path for path in named if not (ROOT / path).exists()] == []


def test_the_readme_is_a_front_page_a_newcomer_reads_in_two_minutes() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) < 160


def test_the_readme_shows_every_screenshot_and_links_every_guide() -> None:
    links = {(ROOT / link.partition("#")[0]).resolve() for link in _links(ROOT / "README.md")}
    wanted = {*(ROOT / "docs" / "screenshots").glob("*.png"), *(ROOT / "docs").glob("*.md")}
    assert wanted, "docs/ holds the guides and their screenshots"
    assert sorted(p.relative_to(ROOT) for p in wanted - links) == []


def test_the_make_targets_the_readme_names_exist() -> None:
    makefile = (ROOT / "Makefile").read_text()
    for target in re.findall(r"`make ([\w-]+)`", (ROOT / "README.md").read_text()):
        assert re.search(rf"^{target}:", makefile, flags=re.MULTILINE), target


def test_the_generation_guide_carries_the_table_the_code_generates() -> None:
    from realavatar_nb.providers import generation_table

    text = (ROOT / "docs" / "generation.md").read_text()
    copy = text.split("<!-- generation-table -->\n", 1)[1].split("\n<!-- /generation-table -->", 1)[0]
    regenerate = "python -c 'from realavatar_nb.providers import generation_table as t; print(t())'"
    assert copy == generation_table(), f"the table fell behind the code: regenerate it with {regenerate}"
