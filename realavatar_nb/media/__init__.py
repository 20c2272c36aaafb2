"""Local media work: probe files, judge them against limit profiles, fix what can be fixed."""

from __future__ import annotations
