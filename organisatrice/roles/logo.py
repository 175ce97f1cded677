"""The company logo on work reports and in the emails' letterhead: checked, stored, shown, removed.

An upload is read like a photo (core/images.py: type by content, pixels counted before
decoding) but only PNG and JPEG are taken, the two formats every mail program shows inline. It is
stored upright, without its metadata, and no larger than a letterhead needs, because every email
carries it. Setting and removing it are recorded in the change log like the other company
settings.
"""

from __future__ import annotations

import io

import anyio.to_thread
import filetype
import msgspec
from PIL import Image, ImageOps

from organisatrice.core.blobs import blob_store, store_then_record
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import NotFound, UnsupportedType
from organisatrice.core.images import check_pixels, check_upload_size, encoded, reading_upload
from organisatrice.roles.audit import record_change
from organisatrice.roles.policy import Actor
from organisatrice.roles.schemas import CompanyOut
from organisatrice.roles.staff import company_settings
from organisatrice.roles.tables import Company

MAX_LOGO_BYTES = 2_000_000
# Far beyond any logo; a larger header is a decompression bomb or a camera picture.
MAX_LOGO_PIXELS = 25_000_000
# The report prints the logo at most 70 mm wide (about 830 px at 300 dpi); the email shows it
# 48 px high. Larger would only make every email heavier.
LOGO_EDGE = 1000
_ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg"}
_ACCEPTED_TEXT = "The logo must be a PNG or JPEG image."


class LogoImage(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str


def check_logo(data: bytes) -> LogoImage:
    """An uploaded logo made safe, or a refusal that says why. Pure: bytes in, bytes out."""
    check_upload_size(data, max_bytes=MAX_LOGO_BYTES, what="logo")
    with reading_upload(max_pixels=MAX_LOGO_PIXELS, accepted=_ACCEPTED_TEXT):
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            if fmt not in _ACCEPTED:
                raise UnsupportedType(
                    f"This file is a {fmt or 'unknown'} image. {_ACCEPTED_TEXT}",
                    code=Code.LOGO_TYPE_NOT_ACCEPTED,
                    params={"format": fmt or "?"},
                    field="file",
                )
            check_pixels(*probe.size, MAX_LOGO_PIXELS)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            logo = ImageOps.exif_transpose(image)
    if fmt == "JPEG" or logo.mode not in ("RGB", "RGBA", "L", "LA"):
        # A palette PNG's transparency lives in its metadata: keep it as an alpha channel.
        has_alpha = fmt == "PNG" and ("A" in logo.getbands() or "transparency" in logo.info)
        logo = logo.convert("RGBA" if has_alpha else "RGB")
    icc_profile = logo.info.get("icc_profile")
    # Only what is passed to save() is written: none of the upload's EXIF, XMP or text chunks.
    logo.info = {}
    logo.thumbnail((LOGO_EDGE, LOGO_EDGE))
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    data = (
        encoded(logo, "PNG", optimize=True, **extra)
        if fmt == "PNG"
        else encoded(logo, "JPEG", quality=90, optimize=True, **extra)
    )
    return LogoImage(data=data, content_type=_ACCEPTED[fmt])


async def _logo_sha256(actor: Actor) -> str | None:
    row = await Company.select(Company.logo_sha256).where(Company.id == actor.company_id).first()
    return row["logo_sha256"] if row else None


async def _record(actor: Actor, before: str | None, after: str | None) -> None:
    settings = await company_settings(actor)
    await record_change(
        actor,
        subject="company",
        subject_id=actor.company_id,
        subject_label=settings.name,
        field="logo",
        before=before,
        after=after,
    )


async def set_logo(actor: Actor, data: bytes) -> CompanyOut:
    checked = await anyio.to_thread.run_sync(check_logo, data)

    async def record(shas: list[str]) -> int:
        before = await _logo_sha256(actor)
        if before != shas[0]:
            await Company.update({Company.logo_sha256: shas[0]}).where(
                Company.id == actor.company_id
            )
            await _record(actor, before, shas[0])
        return actor.company_id

    await store_then_record([checked.data], record)
    return await company_settings(actor)


async def remove_logo(actor: Actor) -> CompanyOut:
    """Reports and emails go out without a logo again. The blob stays: emails already sent
    with it are archived as sent, and another row may share its bytes."""
    async with transaction():
        before = await _logo_sha256(actor)
        if before is not None:
            await Company.update({Company.logo_sha256: None}).where(Company.id == actor.company_id)
            await _record(actor, before, None)
    return await company_settings(actor)


async def company_logo(actor: Actor) -> LogoImage:
    sha = await _logo_sha256(actor)
    if sha is None:
        raise NotFound("The company has no logo.", code=Code.NO_LOGO)
    data = await blob_store().read(sha)
    return LogoImage(data=data, content_type=filetype.guess_mime(data) or "image/png")
