"""The error vocabulary every room raises; app.py maps each to a problem-details answer."""

from __future__ import annotations


class DomainError(Exception):
    """A refusal a person can act on: `detail` says what is wrong and what to do; `code`,
    where given, names the problem for programs (stable, unlike the words)."""

    status_code = 400
    title = "Bad request"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        self.code = code


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

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
