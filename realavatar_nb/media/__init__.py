"""Local media work, no network: probe files, judge them against limit profiles, fix what can be fixed.

Reading a file: ``sniff`` (its content family), ``integrity`` (truncation, damage), ``probe``
(``MediaInfo``; ``image_facts``, ``containers``, ``tags``, ``heif``; ``quarantine`` runs PyAV in a
worker process), ``pixels`` (what a person sees: EXIF- and display-matrix-upright pictures).

Judging it: ``rules`` (limit profiles as data, ``profiles/*.json``), ``verdict`` (one file),
``validate`` (a folder, over ``pool``), ``near_duplicates``; ``report`` and ``batch`` write and
summarise reports. Two groups have their own folders: ``faces/`` (the face pre-check) and
``fix/`` (conforming copies).

Nothing here imports the client, the ledger or the adapters; the ledger reaches ``faces`` and
``near_duplicates`` through small protocols, and the client reads what it needs of a file through
one module, ``_media_facts`` (``tests/test_layers.py``).
"""

from __future__ import annotations
