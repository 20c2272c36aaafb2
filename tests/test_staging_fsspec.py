"""FsspecStager against a real S3-compatible server (moto's, on a loopback port) through s3fs."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from realavatar_nb._exceptions import ConfigurationError
from realavatar_nb._staging import Stager
from realavatar_nb._staging_fsspec import FsspecStager, object_key, safe_name

boto3 = pytest.importorskip("boto3")
pytest.importorskip("s3fs")
moto_server = pytest.importorskip("moto.server")

_KEY_ID = "AKIDSTAGINGTEST"
_SECRET = "s3cr3t-never-in-a-url"


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def bucket(endpoint: str) -> str:
    name = f"stage-{uuid.uuid4().hex[:12]}"
    _s3(endpoint).create_bucket(Bucket=name)
    return name


@pytest.fixture
def options(endpoint: str) -> dict[str, Any]:
    return {"key": _KEY_ID, "secret": _SECRET, "client_kwargs": {"endpoint_url": endpoint, "region_name": "us-east-1"}}


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    path = tmp_path / "my clip (1).mp4"
    path.write_bytes(uuid.uuid4().bytes * 4096)  # fresh content per test: a fresh content address
    return path


def _s3(endpoint: str) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=_KEY_ID,
        aws_secret_access_key=_SECRET,
    )


def _key(path: Path) -> str:
    return object_key(hashlib.sha256(path.read_bytes()).hexdigest(), str(path))


def _stage(stager: Stager, path: Path) -> str:
    async def go() -> str:
        async with httpx.AsyncClient() as http:
            return await stager.stage(str(path), http)

    return asyncio.run(go())


def test_key_is_the_content_hash_and_a_safe_name() -> None:
    assert safe_name("/tmp/my clip (1).MP4") == "my_clip_1.MP4"
    assert safe_name("../../.hidden") == "hidden"
    assert safe_name("über/größe.png") == "gr_e.png"
    assert object_key("ab" * 32, "/x/a b.jpg") == "abababababababab/a_b.jpg"


def test_presigned_url_downloads_the_exact_bytes(clip: Path, bucket: str, options: dict[str, Any]) -> None:
    stager = FsspecStager(f"s3://{bucket}/prefix", storage_options=options)

    url = _stage(stager, clip)

    assert urlsplit(url).path == f"/{bucket}/prefix/{_key(clip)}"
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=43200" in url
    assert _SECRET not in url
    response = httpx.get(url, trust_env=False)
    assert response.status_code == 200
    assert response.content == clip.read_bytes()


def test_restaging_the_same_file_uploads_nothing(
    clip: Path, bucket: str, options: dict[str, Any], endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    stager = FsspecStager(f"s3://{bucket}/again/", storage_options=options)
    puts: list[str] = []
    put_file = stager.fs.put_file
    monkeypatch.setattr(stager.fs, "put_file", lambda lpath, rpath, **kw: puts.append(rpath) or put_file(lpath, rpath))

    first = _stage(stager, clip)
    second = _stage(stager, clip)

    assert puts == [f"{bucket}/again/{_key(clip)}"]
    assert urlsplit(first).path == urlsplit(second).path == f"/{bucket}/again/{_key(clip)}"
    listed = _s3(endpoint).list_objects_v2(Bucket=bucket, Prefix="again/")["Contents"]
    assert [obj["Key"] for obj in listed] == [f"again/{_key(clip)}"]


def test_changed_content_under_the_same_name_gets_a_new_key(clip: Path, bucket: str, options: dict[str, Any]) -> None:
    stager = FsspecStager(f"s3://{bucket}/changed", storage_options=options)
    first = _stage(stager, clip)
    clip.write_bytes(b"edited")

    second = _stage(stager, clip)

    assert urlsplit(first).path != urlsplit(second).path
    assert httpx.get(second, trust_env=False).content == b"edited"


def test_public_base_url_returns_base_plus_key(clip: Path, bucket: str, options: dict[str, Any], endpoint: str) -> None:
    stager = FsspecStager(
        f"s3://{bucket}/public", public_base_url="https://cdn.example.test/media/", storage_options=options
    )

    url = _stage(stager, clip)

    assert url == f"https://cdn.example.test/media/{_key(clip)}"
    stored = _s3(endpoint).get_object(Bucket=bucket, Key=f"public/{_key(clip)}")["Body"].read()
    assert stored == clip.read_bytes()


def test_memory_target_without_public_base_url_names_it() -> None:
    with pytest.raises(ConfigurationError, match="public_base_url="):
        FsspecStager("memory://staging")


def test_a_cut_off_copy_is_sent_again(clip: Path) -> None:
    target = f"memory://cut-{uuid.uuid4().hex}"
    stager = FsspecStager(target, public_base_url="https://files.example.test")
    remote = f"{target}/{_key(clip)}"
    stager.fs.pipe_file(remote, clip.read_bytes()[:100])

    url = _stage(stager, clip)

    assert url == f"https://files.example.test/{_key(clip)}"
    assert stager.fs.cat_file(remote) == clip.read_bytes()


def test_local_directory_target_makes_its_folders(clip: Path, tmp_path: Path) -> None:
    stager = FsspecStager(str(tmp_path / "served"), public_base_url="http://127.0.0.1:8000/served")

    url = _stage(stager, clip)

    assert url == f"http://127.0.0.1:8000/served/{_key(clip)}"
    assert (tmp_path / "served" / _key(clip)).read_bytes() == clip.read_bytes()


def test_missing_fsspec_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [m for m in sys.modules if m == "fsspec" or m.startswith("fsspec.")]:
        monkeypatch.setitem(sys.modules, name, None)

    with pytest.raises(ConfigurationError, match=r"realavatar-nb\[s3\]"):
        FsspecStager("s3://bucket/prefix")


@pytest.mark.skipif(importlib.util.find_spec("gcsfs") is not None, reason="gcsfs is installed")
def test_missing_driver_names_it() -> None:
    with pytest.raises(ConfigurationError, match="gcsfs"):
        FsspecStager("gs://bucket/prefix")


def test_settings_that_cannot_work_are_refused_early() -> None:
    with pytest.raises(ConfigurationError, match="credentials"):
        FsspecStager("memory://x", public_base_url="https://user:pw@cdn.example.test")
    with pytest.raises(ConfigurationError, match="http"):
        FsspecStager("memory://x", public_base_url="ftp://cdn.example.test")
    with pytest.raises(ConfigurationError, match="presign_seconds"):
        FsspecStager("memory://x", public_base_url="https://cdn.example.test", presign_seconds=8 * 24 * 3600)
    with pytest.raises(ConfigurationError, match="Protocol not known"):
        FsspecStager("nope://x", public_base_url="https://cdn.example.test")


def test_repr_shows_no_credentials(options: dict[str, Any], bucket: str) -> None:
    stager = FsspecStager(f"s3://{bucket}/p", storage_options=options)
    ftp_like = FsspecStager("memory://user:pw@host/p", public_base_url="https://cdn.example.test")

    assert _SECRET not in repr(stager) and _KEY_ID not in repr(stager)
    assert "pw" not in repr(ftp_like) and "***@host" in repr(ftp_like)


def test_a_client_for_a_real_provider_stages_through_the_named_target(tmp_path: Path) -> None:
    import realavatar_nb as ra
    from realavatar_nb._staging_fsspec import FsspecStager

    client = ra.AsyncClient(
        "crun", api_key="k", ledger=ra.Ledger(tmp_path / "l.sqlite3"), stage=str(tmp_path / "store"),
        stage_options={"public_base_url": "https://cdn.example/faces"},
    )  # fmt: skip
    assert isinstance(client._stager, FsspecStager)
