"""Anyfast as a client verified against the live API saw it: its refusal shapes and its asset reads.

Source: baudevs/OpenMontage ``tools/video/_anyfast.py`` (reference/field-notes.md, "Anyfast, as a
client written against the live API saw it"); one project's observations, each marked where it is used.
The dialect's settings (``SimConfig.dialect_options["anyfast"]``), each defaulting to what it reported:

- ``callback_required`` (True): CreateVisualValidateSession without ``CallbackURL`` is refused,
  though the published schema marks it optional (False: the documented behaviour).
- ``liveness_get_asset`` ("not_found"): GetAsset answers ``[NotFound.asset_id]`` for an asset in a
  LivenessFace group; "found" resolves it (without ``Error``, which only ListAssets carries), as the
  project's own notes state in one place.
- ``never_resolve`` (()): causes that make a created asset answer not-found on every read and leave
  the list: "face_mismatch" (an asset that failed its face-consistency check), "duplicate_name"
  (an asset named like an earlier one in its group: reads answer 404 as if the group were missing)
  and "multipart" (an asset uploaded as a multipart form: accepted with an Id, never usable).
- ``error_shape`` ("reported"): refusals in the gateway's shapes below; "upstream" answers upstream's
  ``ResponseMetadata.Error`` envelope instead (the emulator's earlier, inferred shape).
"""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any, Final

from ..state import Asset, SimError, State

__all__ = [
    "NEVER_RESOLVE_CAUSES",
    "gateway_error",
    "never_resolve",
    "plain_error",
    "refusal",
    "relayed_error",
    "resolves",
    "unresolved",
    "upstream_envelope",
]

NEVER_RESOLVE_CAUSES: Final = ("face_mismatch", "duplicate_name", "multipart")


def refusal(kind: str, task_code: str, code: str, message: str, field: str | None, action: str | None) -> Any:
    """Return the body of a refusal in the shape the source saw for it.

    A key refused: the gateway's own shape. A task route's invalid request: upstream's refusal relayed
    as a JSON string (``task_code`` outside). An asset action's refusal: ``{code, message}``, upstream's
    ``code`` heading the message.
    """
    if kind == "unauthorized":
        # reported: OpenMontage tools/video/_anyfast.py (the gateway's own refusal of a key)
        return gateway_error("new_api_error", "", message)
    if action is None:
        return relayed_error(task_code, "InvalidParameter", message, field)
    return plain_error(code, message)


def upstream_envelope(request_id: str, action: str, code: str, message: str) -> dict[str, Any]:
    """Return upstream's own refusal envelope, ``{ResponseMetadata: {..., Error{Code, Message}}}``."""
    metadata = {"RequestId": request_id, "Action": action, "Version": "2024-01-01", "Service": "ark",
                "Region": "ap-southeast-1", "Error": {"Code": code, "Message": message}}  # fmt: skip
    return {"ResponseMetadata": metadata}


def gateway_error(kind: str, code: str, message: str) -> dict[str, Any]:
    """Return the gateway's own refusal: ``{"error": {type, code, message}}`` (e.g. an invalid token)."""
    # reported: OpenMontage tools/video/_anyfast.py (`new_api_error`, "Invalid token")
    return {"error": {"type": kind, "code": code, "message": message}}


def plain_error(code: str, message: str) -> dict[str, Any]:
    """Return an upstream refusal as the gateway passes it on: ``{code, message}``, the code heading the text."""
    # reported: OpenMontage tools/video/_anyfast.py ("upstream_error: [NotFound.asset_id] The specified asset ...")
    return {"code": "upstream_error", "message": f"[{code}] {message}"}


def relayed_error(code: str, upstream_code: str, message: str, field: str | None) -> dict[str, Any]:
    """Return a relayed refusal: ``{code, message: <upstream's JSON as a string>, data: null}``."""
    # reported: OpenMontage tools/video/_anyfast.py (the nested document holds the actionable text, e.g.
    # an invalid `content[1].image_url.url`); inferred: the nested document is Ark's OpenAI-style error.
    nested = {"error": {"code": upstream_code, "message": message, "param": field or "", "type": "BadRequest"}}
    return {"code": code, "message": json.dumps(nested), "data": None}


def never_resolve(option: Any) -> frozenset[str]:
    """Return the ``never_resolve`` causes a dialect option names; another is the emulator's own error (500)."""
    causes = frozenset([option] if isinstance(option, str) else option or ())
    unknown = causes - set(NEVER_RESOLVE_CAUSES)
    if unknown:
        raise RuntimeError(
            f"dialect_options['anyfast']['never_resolve'] takes {', '.join(NEVER_RESOLVE_CAUSES)}, "
            f"not {', '.join(sorted(unknown))}"
        )
    return causes


def resolves(state: State, asset: Asset, causes: Collection[str], by_form: Collection[str] = ()) -> bool:
    """Return whether reads find ``asset``: not when one of ``causes`` applies to it.

    ``by_form`` holds the ids of the assets uploaded as multipart forms.
    """
    # reported: OpenMontage tools/video/_anyfast.py (a create that answers an Id and then never resolves:
    # the face-consistency check failed, or the Name duplicates another asset in the group; multipart
    # uploads were accepted with an Id and never became usable)
    if "face_mismatch" in causes and asset.status == "Failed" and asset.error_code == "FaceMismatch":
        return False
    if "multipart" in causes and asset.id in by_form:
        return False
    return not ("duplicate_name" in causes and _duplicate(state, asset))


def unresolved(state: State, asset: Asset) -> SimError:
    """Return the not-found a read of an asset that never resolves answers."""
    if _duplicate(state, asset):  # reported: a duplicate Name reads as if the group were missing
        return SimError("not_found", f"The specified asset group {asset.group_id} is not found.", field="group_id")
    return SimError("not_found", f"The specified asset {asset.id} is not found.", field="asset_id")


def _duplicate(state: State, asset: Asset) -> bool:
    """Return whether an earlier asset of the same group bears ``asset``'s name."""
    return any(
        other.account == asset.account
        and other.group_id == asset.group_id
        and other.name == asset.name
        and (other.created_at, other.id) < (asset.created_at, asset.id)
        for other in list(state.assets.values())
    )
