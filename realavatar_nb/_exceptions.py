"""The error tree. Every error says what happened and what to do next.

::

    RealAvatarError
     ├── ConfigurationError              bad setting, unknown provider or profile
     │    └── MissingAPIKeyError         no key in the environment for a real provider
     ├── ProviderError                   a provider answered with an error (status, code, request_id)
     │    ├── AuthenticationError        401/403: missing or wrong key
     │    ├── NotFoundError              404: unknown id (or another account's)
     │    ├── InvalidRequestError        400/422: a field the provider rejected
     │    ├── RateLimitError             429: slow down (retry_after)
     │    ├── InsufficientBalanceError   402: top up the account
     │    ├── ServerError                5xx: the provider failed
     │    └── MalformedResponseError     an answer that breaks the provider's contract (names the field)
     ├── TransportError                  the network failed after retries
     │    └── ResponseLimitError         an answer over a size cap or past its deadline (names the setting)
     ├── OutcomeUnknownError             a create may or may not have happened; reconcile first
     ├── UnknownStatusError              a provider status no adapter knows (never an endless poll)
     ├── UnsupportedOperationError       the provider has no such endpoint
     ├── CallbackParseError              a callback URL without bytedToken/resultCode
     ├── PollTimeoutError                a wait ran past its timeout (also a TimeoutError)
     ├── VerificationError
     │    ├── VerificationExpiredError   the 120 s link ran out: create a new session
     │    ├── VerificationRejectedError  the liveness check failed (result_code)
     │    └── PersonMismatchError        a group verified for one person used for another
     ├── ConsentRequiredError            no recorded consent for this person
     ├── InvalidArgumentError            an argument of the wrong type or value (also TypeError, ValueError)
     ├── AssetFailedError                an asset ended Failed (error_code, e.g. FaceMismatch)
     ├── JobFailedError                  a generation job ended failed/cancelled/expired
     ├── GenerationRefusedError          a request refused before sending (reason, the input it names)
     ├── BudgetExceededError             a grid's estimate is over its budget; nothing was sent
     ├── LedgerError                     the SQLite ledger cannot be read or written
     └── MediaError                      local media work
          ├── ProfileError               a limit profile that is unknown or malformed
          ├── MediaToolMissingError      no ffmpeg/ffprobe binary to run
          └── FixError                   a conforming copy could not be written
"""

from __future__ import annotations

from typing import Any


class RealAvatarError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigurationError(RealAvatarError, ValueError):
    """A setting, provider name or profile name that cannot be used."""


class MissingAPIKeyError(ConfigurationError):
    """A real provider was chosen but no API key was found."""

    def __init__(
        self,
        provider: str,
        env_vars: tuple[str, ...],
        *,
        credential: str = "API key",
        argument: str = "api_key=...",
        where: str | None = None,
    ) -> None:
        self.provider = provider
        self.env_vars = env_vars
        self.credential = credential
        names = (" and " if credential.endswith("pair") else " or ").join(env_vars)
        source = f" ({where})" if where else ""
        super().__init__(
            f"No {credential} for provider {provider!r}{source}. Set {names} in the environment, pass {argument}, "
            f'or use ra.AsyncClient("sandbox") to run against the built-in emulator.'
        )


class ProviderError(RealAvatarError):
    """A provider answered with an error. ``status_code``, ``code`` and ``request_id`` say which."""

    def __init__(
        self,
        message: str,
        *,
        provider: str | None = None,
        status_code: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        body: Any = None,
    ) -> None:
        self.provider = provider
        self.status_code = status_code
        self.code = code
        self.request_id = request_id
        self.body = body
        super().__init__(message)


class AuthenticationError(ProviderError):
    """The provider refused the key (401/403)."""


class NotFoundError(ProviderError):
    """The id is unknown to the provider, or belongs to another account (404)."""


class InvalidRequestError(ProviderError):
    """The provider rejected a field of the request (400/422)."""


class RateLimitError(ProviderError):
    """Too many requests (429). ``retry_after`` is the provider's hint in seconds, if it gave one."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)


class InsufficientBalanceError(ProviderError):
    """The account has no balance left (402): top it up at the provider."""


class ServerError(ProviderError):
    """The provider failed (5xx)."""


class MalformedResponseError(ProviderError):
    """An answer that breaks the provider's contract: not JSON, a missing field, a wrong type, an unsafe link.

    ``field`` names the part of the answer at fault (``data.h5_link``, ``body`` …).
    """

    def __init__(self, message: str, *, field: str | None = None, **kwargs: Any) -> None:
        self.field = field
        super().__init__(message, **kwargs)


class TransportError(RealAvatarError):
    """The request never got an answer (connection refused, reset, timed out) after retries."""


class ResponseLimitError(TransportError):
    """An answer larger than a cap, or slower than a deadline; ``setting`` names the knob that sets it."""

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        self.setting = setting
        super().__init__(message)


class OutcomeUnknownError(RealAvatarError):
    """A create request may or may not have taken effect; it was not sent again blindly.

    Rerun the same call: the client reconciles with its ledger and the provider's list/get first.
    """


class UnknownStatusError(RealAvatarError):
    """A provider reported a status no adapter knows; polling stops instead of looping forever."""

    def __init__(self, provider: str, status: object, kind: str) -> None:
        self.provider = provider
        self.status = status
        self.kind = kind
        super().__init__(
            f"{provider} reported an unknown {kind} status {status!r}. Polling stopped; check the "
            f"provider's status page or report it so the adapter can learn the new spelling."
        )


class UnsupportedOperationError(RealAvatarError):
    """The provider has no endpoint for this operation."""


class CallbackParseError(RealAvatarError, ValueError):
    """A callback URL that lacks ``bytedToken`` or ``resultCode``."""


class PollTimeoutError(RealAvatarError, TimeoutError):
    """A wait ran past its timeout. The last state seen is in ``last``."""

    def __init__(self, message: str, *, last: Any = None) -> None:
        self.last = last
        super().__init__(message)


class VerificationError(RealAvatarError):
    """A liveness verification that did not yield a group."""


class VerificationExpiredError(VerificationError):
    """The H5 link's 120 s ran out before the person finished: create a new session."""


class VerificationRejectedError(VerificationError):
    """The liveness check failed. ``result_code`` is the H5 page's code."""

    def __init__(self, message: str, *, result_code: str | None = None) -> None:
        self.result_code = result_code
        super().__init__(message)


class PersonMismatchError(VerificationError):
    """A group verified for one person was about to be used for another."""


class ConsentRequiredError(RealAvatarError):
    """No consent is recorded for this person: pass consent=ra.Consent(...) or ask them first."""


class InvalidArgumentError(RealAvatarError, TypeError, ValueError):
    """An argument of the wrong type or value; the message names the argument and what it takes."""


class AssetFailedError(RealAvatarError):
    """An asset ended ``failed``. ``error_code`` is the provider's (e.g. ``FaceMismatch``)."""

    def __init__(self, message: str, *, error_code: str | None = None, asset: Any = None) -> None:
        self.error_code = error_code
        self.asset = asset
        super().__init__(message)


class JobFailedError(RealAvatarError):
    """A generation job ended failed, cancelled or expired."""

    def __init__(self, message: str, *, job: Any = None) -> None:
        self.job = job
        super().__init__(message)


class GenerationRefusedError(InvalidArgumentError):
    """A generation request refused before anything was sent; ``reason`` names the rule it breaks.

    ``index`` and ``label`` name the reference at fault (its position in ``references`` and the asset
    id, file or URL), when one is.
    """

    def __init__(self, message: str, *, reason: str, index: int | None = None, label: str | None = None) -> None:
        self.reason = reason
        self.index = index
        self.label = label
        super().__init__(message)


class BudgetExceededError(RealAvatarError):
    """A grid's estimated cost is over the budget given; nothing was sent."""

    def __init__(self, message: str, *, estimate: Any = None) -> None:
        self.estimate = estimate
        super().__init__(message)


class LedgerError(RealAvatarError):
    """The SQLite ledger cannot be opened, read or written."""


class MediaError(RealAvatarError):
    """Local media work failed in a way that is not a property of one file."""


class ProfileError(MediaError, ConfigurationError):
    """A limit profile that is unknown or malformed."""


class MediaToolMissingError(MediaError):
    """No ffmpeg (or ffprobe) binary could be found."""


class FixError(MediaError):
    """A conforming copy could not be written (for example, the output would overwrite an original)."""


# Every error above is public and re-exported by the package; the docstring's tree draws them all.
__all__ = sorted(
    name for name, value in globals().items() if isinstance(value, type) and issubclass(value, RealAvatarError)
)
