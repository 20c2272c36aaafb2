"""The access keys the emulator mints for its upstream dialects (BytePlus, Volcengine), and their accounts.

Upstream signs every asset-library call with an AK/SK pair (reference/upstream.md §1.2), so the
emulator must know the secret to check a signature: it mints the keys itself
(``Sandbox.access_key``, ``POST /_sandbox/access-keys``). Each key carries an Ark API key of the
same account, so generation sees the assets the key made. A key is its own account unless an
``account`` label joins several; an account lives on one cloud (the same label on the other cloud
is another account), and its projects are ``default`` and the projects its keys were minted for.
Keys are not persisted: a restarted emulator mints new ones.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final, TypedDict

from .._config import fingerprint
from .backend import account_of

__all__ = ["CLOUDS", "Cloud", "KeyOptions", "KeyRecord", "KeyRing", "UpstreamKey", "keyed_account"]


@dataclass(frozen=True)
class Cloud:
    """One upstream cloud: its name, signing region, access-key id prefix and Seedance model ids."""

    name: str
    region: str
    prefix: str
    models: tuple[str, ...]


# Model ids per reference/upstream.md §4.3; the 4k tier is not rendered by the emulator.
CLOUDS: Final = {
    "byteplus": Cloud(
        "byteplus", "ap-southeast-1", "AKAP",
        ("dreamina-seedance-2-0-260128", "dreamina-seedance-2-0-fast-260128", "dreamina-seedance-2-0-mini-260615",
         "dreamina-seedance-2-5-260628"),
    ),
    "volcengine": Cloud(
        "volcengine", "cn-beijing", "AKLT",
        ("doubao-seedance-2-0-260128", "doubao-seedance-2-0-fast-260128", "doubao-seedance-2-0-mini-260615"),
    ),
}  # fmt: skip
SERVICE: Final = "ark"
VERSION: Final = "2024-01-01"


@dataclass(frozen=True)
class UpstreamKey:
    """An access key pair the emulator minted, with the Ark API key of the same account.

    Its ``repr`` shows the access key id only: the secret and the API key never print.
    """

    cloud: str
    region: str
    access_key_id: str
    secret_access_key: str = field(repr=False)
    api_key: str = field(repr=False)
    project: str = "default"


@dataclass(frozen=True)
class KeyRecord:
    """What the emulator knows of a minted key: the key, its account, the IAM actions it lacks, its subscription."""

    key: UpstreamKey = field(repr=False)
    account: str
    denied: frozenset[str] = frozenset()
    subscribed: bool = True

    @property
    def cloud(self) -> Cloud:
        return CLOUDS[self.key.cloud]


class KeyOptions(TypedDict, total=False):
    """``KeyRing.mint``'s keywords, for the callers that pass them on (``Sandbox.access_key``)."""

    project: str
    denied: Iterable[str]
    subscribed: bool
    account: str | None


class KeyRing:
    """Every minted key, found by its access key id or by its Ark API key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_ak: dict[str, KeyRecord] = {}
        self._by_api_key: dict[str, KeyRecord] = {}

    def mint(
        self,
        cloud: str,
        *,
        project: str = "default",
        denied: Iterable[str] = (),
        subscribed: bool = True,
        account: str | None = None,
    ) -> UpstreamKey:
        """Return a new key on ``cloud``; ``account`` joins keys into one account (else the key is its own)."""
        if cloud not in CLOUDS:
            raise ValueError(f"cloud must be one of {', '.join(CLOUDS)}, got {cloud!r}.")
        if not isinstance(project, str) or not project.strip() or len(project) > 64:
            raise ValueError("project must be a name of 1 to 64 characters.")
        if isinstance(denied, str):
            raise ValueError("denied must be a list of IAM actions, not one string.")
        denials = frozenset(denied)
        if not all(isinstance(action, str) for action in denials):
            raise ValueError("denied must list IAM actions such as 'ark:CreateAsset'.")
        if account is not None and (not isinstance(account, str) or not account.strip()):
            raise ValueError("account must be a non-empty label.")
        spec = CLOUDS[cloud]
        key = UpstreamKey(
            cloud=cloud,
            region=spec.region,
            access_key_id=spec.prefix + secrets.token_hex(20).upper()[:40],
            secret_access_key=secrets.token_urlsafe(30),
            api_key=str(uuid.uuid4()),  # inferred: Ark API keys look like UUIDs
            project=project,
        )
        owner = account_of(f"account:{account}" if account else key.access_key_id, cloud)
        record = KeyRecord(key=key, account=owner, denied=denials, subscribed=bool(subscribed))
        with self._lock:
            self._by_ak[key.access_key_id] = record
            self._by_api_key[key.api_key] = record
        return key

    def by_access_key(self, access_key_id: str) -> KeyRecord | None:
        with self._lock:
            return self._by_ak.get(access_key_id)

    def by_api_key(self, api_key: str) -> KeyRecord | None:
        with self._lock:
            return self._by_api_key.get(api_key)

    def projects(self, account: str) -> set[str]:
        """Return the projects of ``account``: ``default`` and those its keys were minted for."""
        with self._lock:
            return {"default"} | {r.key.project for r in self._by_ak.values() if r.account == account}

    def clear(self) -> None:
        with self._lock:
            self._by_ak.clear()
            self._by_api_key.clear()


def keyed_account(account_key: object) -> str | None:
    """Return the account label a secret ``account_key`` names (its fingerprint), or ``None`` for none."""
    if account_key is None or account_key == "":
        return None
    if not isinstance(account_key, str):
        raise ValueError("account_key must be a string.")
    return f"key:{fingerprint(account_key)}"
