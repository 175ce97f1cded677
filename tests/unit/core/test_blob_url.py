"""BLOB_URL: a folder or a bucket, anything else refused at start-up with the variable named."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from organisatrice.core.blobs import FileBlobs, S3Blobs, open_store
from organisatrice.settings import get_settings


@pytest.fixture
def blob_url() -> Iterator[Callable[..., str]]:
    """The settings' blob URL for these variables (the suite's own settings come back after)."""
    with pytest.MonkeyPatch.context() as patch:

        def given(**values: str) -> str:
            for name in ("BLOB_URL", "BLOB_ROOT"):
                patch.delenv(name, raising=False)
            for name, value in values.items():
                patch.setenv(name, value)
            get_settings.cache_clear()
            return get_settings().blob_url

        yield given
    get_settings.cache_clear()


def test_without_blob_url_the_folder_is_blob_root(
    blob_url: Callable[..., str], tmp_path: Path
) -> None:
    assert blob_url(BLOB_ROOT=str(tmp_path / "my blobs")) == (tmp_path / "my blobs").as_uri()
    store = open_store((tmp_path / "my blobs").as_uri(), timedelta(hours=1))
    assert isinstance(store, FileBlobs)
    assert store.root == tmp_path / "my blobs"


def test_a_bucket_with_a_prefix(blob_url: Callable[..., str]) -> None:
    assert blob_url(BLOB_URL="s3://photos/organisatrice/") == "s3://photos/organisatrice"
    assert isinstance(open_store("s3://photos/organisatrice", timedelta(hours=1)), S3Blobs)


@pytest.mark.parametrize("url", ["http://example.com/blobs", "s3://", "/var/blobs", "file://x"])
def test_anything_else_is_refused_at_start_up(blob_url: Callable[..., str], url: str) -> None:
    with pytest.raises(SystemExit, match="BLOB_URL must be"):
        blob_url(BLOB_URL=url)


def test_a_grace_period_under_an_hour_is_refused(blob_url: Callable[..., str]) -> None:
    with pytest.raises(SystemExit, match="BLOB_GRACE_HOURS must be at least 1"):
        blob_url(BLOB_GRACE_HOURS="0")
