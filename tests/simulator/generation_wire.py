"""Seedance generation in each dialect's wire shape (the spec's bodies), for tests over real HTTP.

``submit`` sends one neutral request (references as ``(kind, url, role)``, options by their neutral
names) in a dialect's body; ``refusal`` reads back upstream's code and message from that dialect's
error shape; ``outcome`` polls a task once and reads its status, video, last frame and usage.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from realavatar_nb.simulator import Sandbox

ARK_TASKS = "/api/v3/contents/generations/tasks"
KEY = "generation-test-key"
MODELS = {
    "byteplus": "dreamina-seedance-2-0-260128",
    "volcengine": "doubao-seedance-2-0-260128",
    "anyfast": "seedance",
    "toapis": "doubao-seedance-2-0",
    "apimart": "doubao-seedance-2.0",
    "crun": "bytedance/seedance2-0-r2v",
    "easyrouter": "dreamina-seedance-2-0",
}
DIALECTS = tuple(MODELS)
Ref = tuple[str, str, str | None]  # (kind: image | video | audio, url, role)


@dataclass
class Outcome:
    status: str
    video_url: str | None
    last_frame_url: str | None
    usage: dict[str, Any] | None
    error_code: str | None


class Wire:
    """One sandbox spoken to in every dialect: Ark keys minted once per cloud."""

    def __init__(self, sb: Sandbox) -> None:
        self.sb = sb
        self.http = httpx.Client(timeout=30)
        self.ark_keys = {cloud: sb.access_key(cloud).api_key for cloud in ("byteplus", "volcengine")}

    def close(self) -> None:
        self.http.close()

    def headers(self, dialect: str) -> dict[str, str]:
        if dialect == "crun":
            return {"x-api-key": KEY}
        return {"authorization": f"Bearer {self.ark_keys.get(dialect, KEY)}"}

    def host(self, data: bytes, name: str) -> str:
        """Put a file on the emulator's file host; return its URL."""
        r = self.http.post(f"{self.sb.url}/files", files={"file": (name, data)}, headers=self.headers("toapis"))
        assert r.status_code == 201, r.text
        return str(r.json()["url"])

    # -- create ----------------------------------------------------------------------------

    def submit(self, dialect: str, refs: Sequence[Ref], prompt: str = "a slow wave", **opts: Any) -> httpx.Response:
        base = self.sb.base_url(dialect)
        body = _BODIES[dialect](MODELS[dialect] if "model" not in opts else opts.pop("model"), prompt, refs, opts)
        path = {"byteplus": ARK_TASKS, "volcengine": ARK_TASKS, "anyfast": "/v1/video/generations",
                "toapis": "/v1/videos/generations", "apimart": "/v1/videos/generations",
                "crun": "/api/v1/client/job/CreateTask", "easyrouter": "/v1/video/generations"}[dialect]  # fmt: skip
        return self.http.post(base + path, json=body, headers=self.headers(dialect))

    def task_id(self, dialect: str, response: httpx.Response) -> str:
        assert response.status_code == 200, response.text
        data = response.json()
        if dialect in ("byteplus", "volcengine", "toapis", "easyrouter"):
            return str(data["id"])
        if dialect == "apimart":
            return str(data["data"][0]["task_id"])
        return str(data["data"]["task_id"])

    # -- read back -------------------------------------------------------------------------

    def outcome(self, dialect: str, task_id: str) -> Outcome:
        base, h = self.sb.base_url(dialect), self.headers(dialect)
        if dialect in ("byteplus", "volcengine"):
            t = self._ok(self.http.get(f"{base}{ARK_TASKS}/{task_id}", headers=h))
            content, error = t.get("content") or {}, t.get("error") or {}
            return Outcome(t["status"], content.get("video_url"), content.get("last_frame_url"), t.get("usage"),
                           error.get("code"))  # fmt: skip
        if dialect == "anyfast":
            d = self._ok(self.http.get(f"{base}/v1/video/generations/{task_id}", headers=h))["data"]
            inner = d["data"]
            content, error = inner.get("content") or {}, inner.get("error") or {}
            return Outcome(d["status"], d["result_url"] or None, content.get("last_frame_url"), inner.get("usage"),
                           error.get("code"))  # fmt: skip
        if dialect == "toapis":
            t = self._ok(self.http.get(f"{base}/v1/videos/generations/{task_id}", headers=h))
            result, error = t.get("result") or {}, t.get("error") or {}
            return Outcome(t["status"], result.get("url"), result.get("last_frame_url"), t.get("usage"),
                           error.get("code"))  # fmt: skip
        if dialect == "apimart":
            t = self._ok(self.http.get(f"{base}/v1/tasks/{task_id}", headers=h))["data"]
            result, error = t.get("result") or {}, t.get("error") or {}
            video = result["videos"][0]["url"][0] if result.get("videos") else None
            return Outcome(t["status"], video, result.get("last_frame_url"), t.get("usage"), error.get("code"))
        if dialect == "crun":
            t = self._ok(self.http.get(f"{base}/api/v1/client/job/TaskInfo", params={"task_id": task_id}, headers=h))
            result = t["data"]["result"] or {}
            code = result.get("code") if t["data"]["status"] == "failed" else None
            return Outcome(t["data"]["status"], result.get("video_url"), result.get("last_frame_url"),
                           t["data"].get("usage"), code)  # fmt: skip
        t = self._ok(self.http.get(f"{base}/v1/video/generations/{task_id}", headers=h))
        meta, error = t.get("metadata") or {}, t.get("error") or {}
        return Outcome(t["status"], meta.get("url"), meta.get("last_frame_url"), t.get("usage"), error.get("code"))

    def _ok(self, response: httpx.Response) -> Any:
        assert response.status_code == 200, response.text
        return response.json()


def refusal(dialect: str, response: httpx.Response) -> tuple[int, str, str]:
    """Return (HTTP status, upstream's code, upstream's message) from the dialect's error shape."""
    body = response.json()
    if dialect in ("byteplus", "volcengine"):
        error = body["error"]
        return response.status_code, error["code"], error["message"].split(" Request id:")[0]
    if dialect == "anyfast":
        nested = json.loads(body["message"])["error"]
        return response.status_code, nested["code"], nested["message"]
    if dialect == "crun":
        code, _, message = body["message"].removeprefix("[").partition("] ")
        return response.status_code, code, message
    if dialect == "easyrouter":
        return response.status_code, body["error"]["code"], body["error"]["message"]
    error = body["error"]  # toapis, apimart: the message may be headed by the wire field ("image_with_roles: ")
    return response.status_code, error["code"], re.sub(r"^[a-z_.]+: ", "", error["message"])


def _ark(model: str, prompt: str, refs: Sequence[Ref], opts: dict[str, Any]) -> dict[str, Any]:
    content: list[dict[str, Any]] = [{"type": "text", "text": prompt}] if prompt else []
    for kind, url, role in refs:
        item: dict[str, Any] = {"type": f"{kind}_url", f"{kind}_url": {"url": url}}
        if role:
            item["role"] = role
        content.append(item)
    return {"model": model, "content": content, "duration": 4, "resolution": "480p", **opts}


def _toapis(model: str, prompt: str, refs: Sequence[Ref], opts: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": prompt, "duration": opts.pop("duration", 1),
                            "aspect_ratio": opts.pop("ratio", "16:9")}  # fmt: skip
    for kind in ("image", "video", "audio"):
        items = [{"url": url, "role": role or f"reference_{kind}"} for k, url, role in refs if k == kind]
        if items:
            body[f"{kind}_with_roles"] = items
    body["metadata"] = {"resolution": opts.pop("resolution", "480p"), **opts}
    return body


def _apimart(model: str, prompt: str, refs: Sequence[Ref], opts: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "prompt": prompt, "duration": 1, "resolution": "480p", **opts}
    if "ratio" in body:
        body["size"] = body.pop("ratio")
    images = [{"url": url, "role": role or "reference_image"} for k, url, role in refs if k == "image"]
    if images:
        body["image_with_roles"] = images
    for kind in ("video", "audio"):
        if urls := [url for k, url, _ in refs if k == kind]:
            body[f"{kind}_urls"] = urls
    return body


def _crun(model: str, prompt: str, refs: Sequence[Ref], opts: dict[str, Any]) -> dict[str, Any]:
    inp: dict[str, Any] = {"prompt": prompt, "duration": 1, "resolution": "480p", "aspect_ratio": "16:9"}
    if "generate_audio" in opts:
        inp["audio"] = opts.pop("generate_audio")
    inp.update({("aspect_ratio" if k == "ratio" else k): v for k, v in opts.items()})
    for kind in ("image", "video", "audio"):
        if urls := [url for k, url, _ in refs if k == kind]:
            inp[f"reference_{kind}s"] = urls
    return {"model": model, "input": inp}


def _easyrouter(model: str, prompt: str, refs: Sequence[Ref], opts: dict[str, Any]) -> dict[str, Any]:
    content = []
    for kind, url, role in refs:
        item: dict[str, Any] = {"type": f"{kind}_url", f"{kind}_url": {"url": url}}
        if role:
            item["role"] = role
        content.append(item)
    meta = {"content": content, "resolution": "480p", **{k: v for k, v in opts.items() if k != "duration"}}
    return {"model": model, "prompt": prompt, "duration": opts.get("duration", 4), "metadata": meta}


_BODIES = {"byteplus": _ark, "volcengine": _ark, "anyfast": _ark, "toapis": _toapis, "apimart": _apimart,
           "crun": _crun, "easyrouter": _easyrouter}  # fmt: skip
