"""Generation as data and rules (layer 2): the request model, the model table, the local checks, the prices.

Nothing here sends anything: the adapters (``providers/``) map a ``GenerationRequest`` onto their
seller's body, and the client's jobs (``_jobs.py``) check it here before sending.
"""

from .catalog import ModelSpec, asset_models, model_names, model_spec
from .checks import InputFacts, check_request, features_of
from .request import GenerationRequest, Reference, Role, as_reference

__all__ = [
    "GenerationRequest",
    "InputFacts",
    "ModelSpec",
    "Reference",
    "Role",
    "as_reference",
    "asset_models",
    "check_request",
    "features_of",
    "model_names",
    "model_spec",
]
