"""Upstream itself: BytePlus ModelArk and Volcengine Ark (reference/upstream.md §1-4), over the same state.

Two planes, as upstream has them:

* the asset-library OpenAPI, ``POST /?Action=<Action>&Version=2024-01-01`` with a PascalCase JSON
  body, signed with an access key the emulator minted (``upstream_keys``; checked in
  ``signatures``), answering ``{"ResponseMetadata": {...}, "Result": {...}}``; a refusal is an HTTP
  4xx/5xx with ``ResponseMetadata.Error{Code, Message}`` and no ``Result``;
* Ark's generation tasks under ``/api/v3/contents/generations/tasks`` with ``Authorization: Bearer
  <the key's Ark API key>``, refusals as ``{"error": {"code", "message", "type"}}``.

The official SDKs take a host and sign the path ``/``, so the app serves these routes at its root,
where the key says which cloud a request is for (``Ark``); ``BytePlus`` and ``Volcengine`` serve
the same routes under ``/byteplus`` and ``/volcengine`` and take only their own cloud's keys.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import ClassVar, Final

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from ..bodies import BodyRefused
from ..files import FileHost
from ..signatures import Refused, verify
from ..state import SimError, State
from ..upstream_keys import CLOUDS, SERVICE, VERSION, Cloud, KeyRecord
from . import ark_actions, ark_tasks
from .base import STATUS_OF, Body, Context, Dialect, json_body, json_response, raw_body
from .upstream import upstream_error_code

__all__ = ["TASKS", "Ark", "ArkContext", "BytePlus", "Volcengine"]

TASKS: Final = "/api/v3/contents/generations/tasks"
log = logging.getLogger("realavatar_nb.simulator")
# An Ark task error's ``type`` by HTTP status (reference/upstream.md §4.6: the error table's Type column).
_TYPES: Final = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 409: "Conflict",
                 408: "RequestTimeout", 413: "BadRequest", 429: "TooManyRequests"}  # fmt: skip


class ArkContext(Context):
    """A request as an upstream handler sees it: the account, its cloud, and the project it acts in."""

    def __init__(self, request: Request, record: KeyRecord, body: Body, state: State, files: FileHost,
                 project: str) -> None:  # fmt: skip
        super().__init__(request, record.account, body, state, files)
        self.record = record
        self.cloud: Cloud = record.cloud
        self.project = project


Work = Callable[[], Awaitable[Response]]
Fail = Callable[[int, str, str], Response]


class Ark(Dialect):
    """Both clouds at the app's root: the key a request carries says which cloud it is for."""

    name = "ark"
    cloud: ClassVar[str | None] = None  # a subclass serves one cloud only

    def routes(self) -> list[BaseRoute]:
        task = f"{TASKS}/{{task_id}}"
        return [
            Route("/", self.control, methods=["POST"]),
            Route(TASKS, self.data(ark_tasks.create), methods=["POST"]),
            Route(TASKS, self.data(ark_tasks.list_tasks), methods=["GET"]),
            Route(task, self.data(ark_tasks.retrieve), methods=["GET"]),
            Route(task, self.data(ark_tasks.delete), methods=["DELETE"]),
        ]

    # -- the asset-library OpenAPI -----------------------------------------------------------

    def metadata(self, action: str, region: str) -> dict[str, str]:
        return {"RequestId": self.state.ids.request_id(self.state.clock()), "Action": action, "Version": VERSION,
                "Service": SERVICE, "Region": region}  # fmt: skip

    def error(self, status: int, code: str, message: str, field: str | None = None) -> Response:
        """Return upstream's OpenAPI refusal (the app's own refusals under this dialect's mount use it)."""
        return self._refusal("", self._region(None), status, code, message)

    def _refusal(self, action: str, region: str, status: int, code: str, message: str) -> Response:
        metadata = {**self.metadata(action, region), "Error": {"Code": code, "Message": message}}
        return json_response({"ResponseMetadata": metadata}, status)

    def _region(self, request: Request | None) -> str:
        """Return the region to answer in before the key is known: this cloud's, else the signed scope's."""
        if self.cloud:
            return CLOUDS[self.cloud].region
        scope = request.headers.get("authorization", "") if request is not None else ""
        return next((c.region for c in CLOUDS.values() if f"/{c.region}/" in scope), CLOUDS["byteplus"].region)

    async def control(self, request: Request) -> Response:
        action = request.query_params.get("Action", "")
        region = [self._region(request)]

        async def work() -> Response:
            raw = await raw_body(request)
            record = self._verified(request, raw)
            region[0] = record.cloud.region
            if request.query_params.get("Version") != VERSION:
                # inferred: upstream's code for a missing or unknown Version.
                raise Refused(400, "InvalidVersion", f"Version must be {VERSION}.")
            handler = ark_actions.ACTIONS.get(action)
            if handler is None:
                raise Refused(404, "InvalidAction", f"The action {action or '(none)'} is not supported.")
            body = json_body(raw)
            project = body.text("ProjectName", default="default", max_len=64)
            self._authorize(record, action, project)
            self.state.admit(record.account)
            result = handler(ArkContext(request, record, body, self.state, self.files, project))
            return json_response({"ResponseMetadata": self.metadata(action, region[0]), "Result": result})

        def fail(status: int, code: str, message: str) -> Response:
            return self._refusal(action, region[0], status, code, message)

        return await self._guard(work, fail, control=True)

    def _verified(self, request: Request, raw: bytes) -> KeyRecord:
        record = verify(
            request.method, request.url.path, request.query_params.multi_items(), request.headers, raw,
            keys=self.state.keys, now=self.state.clock(),
        )  # fmt: skip
        if self.cloud is not None and record.key.cloud != self.cloud:
            message = f"The access key {record.key.access_key_id} is not a {self.cloud} key."
            raise Refused(401, "InvalidAccessKeyId", message)
        return record

    def _authorize(self, record: KeyRecord, action: str, project: str) -> None:
        """Refuse an action the key's policy denies, an unsubscribed account, or a project it does not have."""
        if f"{SERVICE}:{action}" in record.denied:
            message = (f"User is not authorized to perform: {SERVICE}:{action} on resource: "
                       f"trn:{SERVICE}:{record.cloud.region}::project/{project}")  # fmt: skip
            raise Refused(403, "AccessDenied", message)
        if not record.subscribed:
            raise Refused(403, "SubscriptionRequired", "The asset library is not activated on this account.")
        if project not in self.state.keys.projects(record.account):
            raise Refused(404, "NotFound.ProjectName", f"The project {project} does not exist.")

    # -- Ark's generation tasks --------------------------------------------------------------

    def task_error(self, status: int, code: str, message: str) -> Response:
        request_id = self.state.ids.request_id(self.state.clock())
        # Upstream's messages end with the request id (reference/upstream.md §4.6).
        error = {"code": code, "message": f"{message} Request id: {request_id}",
                 "type": _TYPES.get(status, "InternalServiceError")}  # fmt: skip
        return json_response({"error": error}, status, headers={"X-Request-Id": request_id})

    def data(self, handler: ark_tasks.Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            async def work() -> Response:
                record = self._bearer(request)
                self.state.admit(record.account)
                body = await self.body(request)
                context = ArkContext(request, record, body, self.state, self.files, record.key.project)
                # A create downloads and probes its inputs: off the event loop, as every handler here.
                return await run_in_threadpool(handler, context)

            return await self._guard(work, self.task_error, control=False)

        return run

    def _bearer(self, request: Request) -> KeyRecord:
        key = self.key(request)
        record = self.state.keys.by_api_key(key) if key else None
        if record is None or (self.cloud is not None and record.key.cloud != self.cloud):
            # inferred: Ark's code for a missing or unknown API key.
            raise Refused(401, "AuthenticationError", "The API key in the request is missing or invalid.")
        return record

    # -- both ----------------------------------------------------------------------------------

    async def _guard(self, work: Work, fail: Fail, *, control: bool) -> Response:
        """Run ``work``; turn every refusal into ``fail``'s shape, and a bug into a 500 without a trace."""
        try:
            return await work()
        except Refused as exc:
            return fail(exc.status, exc.code, exc.message)
        except SimError as exc:
            status = STATUS_OF.get(exc.kind, 400)
            if not control:
                code = ark_tasks.code(exc)
            else:  # an account limit's refusal carries upstream's own code (``limits``): answered as is
                code = exc.code or upstream_error_code(exc.kind, exc.message, exc.field)
            response = fail(status, code, exc.message)
            if exc.retry_after is not None:
                response.headers["Retry-After"] = str(max(1, math.ceil(exc.retry_after)))
            return response
        except BodyRefused as exc:
            return fail(exc.status, exc.code, exc.message)
        except ClientDisconnect:
            log.debug("sandbox %s: the client went away before its request body arrived", self.name)
            return Response(status_code=400)
        except Exception:
            log.exception("sandbox %s handler failed", self.name)
            return fail(500, "InternalError" if control else "InternalServiceError", "Internal server error.")


class BytePlus(Ark):
    """BytePlus ModelArk (region ap-southeast-1) under ``/byteplus``: BytePlus keys only."""

    name = "byteplus"
    cloud = "byteplus"


class Volcengine(Ark):
    """Volcengine Ark (region cn-beijing) under ``/volcengine``: Volcengine keys only."""

    name = "volcengine"
    cloud = "volcengine"
