"""Settings: one msgspec Struct read from the environment once, with safe defaults."""

from __future__ import annotations

import functools
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

import msgspec


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    database_url: str
    host: str
    port: int
    public_url: str
    data_dir: Path
    # Where blobs live: file:///absolute/folder or s3://bucket[/prefix] (core/blobs.py).
    blob_url: str
    s3_endpoint_url: str
    s3_region: str
    s3_access_key_id: str
    s3_secret_access_key: str
    blob_grace_hours: int
    secret_key: str
    cookie_secure: bool
    max_photo_bytes: int
    max_document_bytes: int
    max_import_bytes: int
    max_photo_pixels: int
    sign_in_attempts: int
    sign_in_window_seconds: int
    sign_in_source_attempts: int
    trusted_proxies: tuple[str, ...]
    session_hours: int
    smtp_host: str
    smtp_port: int
    smtp_capture: bool
    worker_in_app: bool
    smtp_timeout: float
    smtp_helo_name: str
    oauth_microsoft_token_url: str
    oauth_google_authorize_url: str
    oauth_google_token_url: str
    oauth_refresh_margin_seconds: int
    mail_lease_seconds: int
    inbound_host: str
    inbound_port: int
    inbound_in_app: bool
    outbound_allow_private: bool
    outbound_allowed_hosts: tuple[str, ...]
    outbound_allowed_ports: tuple[int, ...]
    bounded_workers: int
    bounded_memory_mb: int
    template_seconds: float
    metrics_token: str
    log_format: str

    @property
    def database_kind(self) -> str:
        return (
            "postgresql"
            if self.database_url.startswith(("postgres://", "postgresql://"))
            else ("sqlite")
        )

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.removeprefix("sqlite:///"))


def _secret_key(data_dir: Path) -> str:
    """The key given in the environment, else one generated on first start and kept, so
    sessions survive a restart."""
    given = os.environ.get("SECRET_KEY")
    if given:
        return given
    path = data_dir / "secret_key"
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def _positive(name: str, default: int) -> int:
    value = _int(name, default)
    if value < 1:
        raise SystemExit(f"{name} must be at least 1, got {value}")
    return value


def _words(name: str) -> tuple[str, ...]:
    """A comma-separated list, without blanks."""
    return tuple(w.strip() for w in os.environ.get(name, "").split(",") if w.strip())


def _ports(name: str) -> tuple[int, ...]:
    try:
        return tuple(int(word) for word in _words(name))
    except ValueError:
        raise SystemExit(f"{name} must be port numbers separated by commas") from None


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _blob_url(data_dir: Path) -> str:
    """BLOB_URL, or the folder BLOB_ROOT (default: the data folder's blobs) as a file URL."""
    url = os.environ.get("BLOB_URL", "").strip()
    if not url:
        return (Path(os.environ.get("BLOB_ROOT") or data_dir / "blobs").resolve()).as_uri()
    if url.startswith("file:///"):
        return Path(unquote(urlsplit(url).path)).resolve().as_uri()
    if url.startswith("s3://") and url.removeprefix("s3://").strip("/"):
        return url.rstrip("/")
    raise SystemExit(
        f"BLOB_URL must be file:///folder or s3://bucket, got {url.split(':', 1)[0]}:…"
    )


@functools.cache
def get_settings() -> Settings:
    data_dir = Path(os.environ.get("DATA_DIR", "data")).resolve()
    database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{data_dir / 'organisatrice.db'}"
    if not database_url.startswith(("sqlite:///", "postgres://", "postgresql://")):
        raise SystemExit(
            "DATABASE_URL must start with sqlite:/// or postgresql://, got "
            f"{database_url.split(':', 1)[0]}:…"
        )
    return Settings(
        database_url=database_url,
        host=os.environ.get("HOST", "127.0.0.1"),
        port=_int("PORT", 8000),
        # Where people reach the app: links in emails (set your password) point there.
        public_url=(
            os.environ.get("PUBLIC_URL")
            or f"http://{os.environ.get('HOST', '127.0.0.1')}:{_int('PORT', 8000)}"
        ).rstrip("/"),
        data_dir=data_dir,
        blob_url=_blob_url(data_dir),
        # An S3-compatible store other than AWS (SeaweedFS, MinIO, Ceph): its address. Without
        # keys, the AWS client's usual chain (instance role, web identity) provides them.
        s3_endpoint_url=os.environ.get("S3_ENDPOINT_URL", "").strip(),
        s3_region=os.environ.get("AWS_REGION", "").strip(),
        s3_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "").strip(),
        s3_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "").strip(),
        # A blob no row references is removed by `organisatrice blobs sweep` once it is older:
        # far longer than any upload takes between storing its file and committing its row.
        blob_grace_hours=_positive("BLOB_GRACE_HOURS", 24),
        secret_key=_secret_key(data_dir),
        cookie_secure=_flag("COOKIE_SECURE", False),
        max_photo_bytes=_int("MAX_PHOTO_BYTES", 25 * 1024 * 1024),
        max_document_bytes=_int("MAX_DOCUMENT_BYTES", 25 * 1024 * 1024),
        # A spreadsheet to import: 50 MB is some 400,000 contacts as CSV.
        max_import_bytes=_int("MAX_IMPORT_BYTES", 50 * 1024 * 1024),
        max_photo_pixels=_int("MAX_PHOTO_PIXELS", 60_000_000),
        sign_in_attempts=_int("SIGN_IN_ATTEMPTS", 5),
        sign_in_window_seconds=_int("SIGN_IN_WINDOW_SECONDS", 900),
        # Failed sign-ins from one client address over all addresses, in the same window.
        sign_in_source_attempts=_int("SIGN_IN_SOURCE_ATTEMPTS", 20),
        # Reverse proxies (addresses or networks) whose X-Forwarded-For names the client.
        trusted_proxies=_words("TRUSTED_PROXIES"),
        session_hours=_int("SESSION_HOURS", 12),
        # The relay of a company that configured none: by default the capture server that
        # `make run` starts, so a new user can send and look at the result.
        smtp_host=os.environ.get("SMTP_HOST", "127.0.0.1"),
        smtp_port=_int("SMTP_PORT", 2525),
        smtp_capture=_flag("SMTP_CAPTURE", False),
        worker_in_app=_flag("WORKER_IN_APP", True),
        smtp_timeout=float(_int("SMTP_TIMEOUT_SECONDS", 30)),
        # The name the app gives in EHLO; empty: the host name of the sending domain. Strict
        # relays penalise `localhost`.
        smtp_helo_name=os.environ.get("SMTP_HELO_NAME", "").strip(),
        # Where relays that want OAuth 2.0 hand out tokens; tests point them at a local server.
        # `{tenant}` is the company's Microsoft 365 tenant.
        oauth_microsoft_token_url=os.environ.get(
            "OAUTH_MICROSOFT_TOKEN_URL",
            "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token",
        ),
        oauth_google_authorize_url=os.environ.get(
            "OAUTH_GOOGLE_AUTHORIZE_URL", "https://accounts.google.com/o/oauth2/v2/auth"
        ),
        oauth_google_token_url=os.environ.get(
            "OAUTH_GOOGLE_TOKEN_URL", "https://oauth2.googleapis.com/token"
        ),
        # An access token is renewed this long before it expires, so none runs out mid-batch.
        oauth_refresh_margin_seconds=_int("OAUTH_REFRESH_MARGIN_SECONDS", 300),
        # Longer than any one SMTP transaction may take (every step has smtp_timeout).
        mail_lease_seconds=_int("MAIL_LEASE_SECONDS", 300),
        # Where delivery reports and read receipts come back (the bounce domain's MX).
        inbound_host=os.environ.get("INBOUND_HOST", "127.0.0.1"),
        inbound_port=_int("INBOUND_PORT", 2526),
        inbound_in_app=_flag("INBOUND_IN_APP", False),
        # Outbound connections (webhooks, relays) go to public addresses on usual ports; these
        # let the operator allow internal ones: any non-public address, some hosts or networks
        # (any address, any port), more ports.
        outbound_allow_private=_flag("OUTBOUND_ALLOW_PRIVATE", False),
        outbound_allowed_hosts=_words("OUTBOUND_ALLOWED_HOSTS"),
        outbound_allowed_ports=_ports("OUTBOUND_ALLOWED_PORTS"),
        # Work whose size a user controls (core/bounded.py): worker processes, the memory each
        # may address, and how long one template may take to render.
        bounded_workers=max(1, _int("BOUNDED_WORKERS", 2)),
        bounded_memory_mb=_int("BOUNDED_MEMORY_MB", 768),
        template_seconds=_int("TEMPLATE_MILLISECONDS", 2000) / 1000,
        # /metrics answers this machine itself, and anyone sending this token as a bearer.
        metrics_token=os.environ.get("METRICS_TOKEN", "").strip(),
        # "json": one JSON object per log line, for a log collector; else plain lines.
        log_format=os.environ.get("LOG_FORMAT", "text").strip().lower(),
    )
