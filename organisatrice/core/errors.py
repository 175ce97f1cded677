"""The error vocabulary every room raises; app.py maps each to a problem-details answer."""

from __future__ import annotations

from collections.abc import Mapping

from organisatrice.core.codes import Code, Params


class DomainError(Exception):
    """A refusal a person can act on: `detail` says in English what is wrong and what to do
    (for API clients); `code` names the problem for programs and `params` holds the values the
    words fill in, so the UI can say it in the person's language from its catalogues."""

    status_code = 400
    title = "Bad request"

    def __init__(
        self,
        detail: str,
        *,
        code: Code,
        params: Mapping[str, str | int | float] | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code
        self.params: Params = dict(params or {})
        self.field = field


class Invalid(DomainError):
    status_code = 422
    title = "Invalid input"


class NotFound(DomainError):
    status_code = 404
    title = "Not found"


class Forbidden(DomainError):
    status_code = 403
    title = "Not allowed"


class Unauthorized(DomainError):
    status_code = 401
    title = "Sign-in required"


class Conflict(DomainError):
    status_code = 409
    title = "Conflict"


class TooLarge(DomainError):
    status_code = 413
    title = "Too large"


class UnsupportedType(DomainError):
    status_code = 415
    title = "Unsupported file type"


class TooManyRequests(DomainError):
    status_code = 429
    title = "Too many attempts"

    def __init__(
        self,
        detail: str,
        *,
        code: Code,
        params: Mapping[str, str | int | float] | None = None,
        retry_after: int,
    ) -> None:
        super().__init__(detail, code=code, params=params)
        self.retry_after = retry_after
