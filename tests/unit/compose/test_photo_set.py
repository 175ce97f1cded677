"""build_photo_set and build_photo_pdf: an order's photos made fit to mail (upright, without
metadata, within the size budget), as images or as one PDF with captions. Pure: no database, no
HTTP."""

from __future__ import annotations

import io
import random
from email import policy
from email.message import EmailMessage

import pytest
from PIL import ExifTags, Image, JpegImagePlugin
from pypdf import PdfReader

from organisatrice.compose.photo_set import (
    EDGES,
    PhotoAttachment,
    SourcePhoto,
    build_photo_pdf,
    build_photo_set,
    decode_reduced,
    part_size,
    photo_filenames,
)
from organisatrice.core.errors import Invalid, TooLarge
from tests.unit.compose.contexts import order_context

MB = 1_000_000
RED = (220, 20, 20)
BLUE = (20, 40, 220)


def encode(image: Image.Image, fmt: str = "JPEG", **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **save)
    return out.getvalue()


def noisy(width: int, height: int, seed: int) -> bytes:
    """A JPEG as hard to compress as a detailed site photo: random colour at a sixth of the
    size, blown up smoothly."""
    rng = random.Random(seed)
    small = (width // 6, height // 6)
    noise = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
    return encode(noise.resize((width, height), Image.Resampling.BILINEAR), quality=90)


def photo(data: bytes, caption: str = "", filename: str = "IMG_0001.jpg") -> SourcePhoto:
    return SourcePhoto(data=data, caption=caption, filename=filename)


def total_encoded(attachments: list[PhotoAttachment]) -> int:
    return sum(part_size(len(a.data)) for a in attachments)


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.fixture(scope="module")
def big_photos() -> list[SourcePhoto]:
    """Six 3000×2000 photos of about 2 MB each."""
    return [
        photo(noisy(3000, 2000, seed), f"Heizraum Ansicht {seed}", f"IMG_{seed}.jpg")
        for seed in range(6)
    ]


def test_part_size_covers_what_the_email_package_writes() -> None:
    data = random.Random(1).randbytes(100_000)
    # The longest safe name, in a script that takes three bytes a letter and nine encoded.
    for name in ("a" * 116 + ".jpg", "Ж" * 116 + ".jpg", "山" * 116 + ".jpg"):
        message = EmailMessage(policy=policy.SMTP)
        message.set_content("x")
        message.add_attachment(data, maintype="image", subtype="jpeg", filename=name)
        (part,) = message.iter_attachments()

        written = len(part.as_bytes(policy=policy.SMTP))
        assert written <= part_size(len(data)) < written + 8192


def test_location_and_other_metadata_never_leave_with_a_photo() -> None:
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Artist] = "Anna Meier"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (8.0, 32.0, 30.0)
    source = encode(
        Image.new("RGB", (64, 48), RED),
        exif=exif,
        comment=b"Anna's phone",
        xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>Bahnhofstrasse 12</x:xmpmeta>",
    )
    assert opened(source).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the test's own premise

    images = build_photo_set([photo(source)], budget=MB)
    pdf = build_photo_pdf([photo(source)], budget=MB, ctx=order_context()).data
    embedded = [image.data for image in PdfReader(io.BytesIO(pdf)).pages[0].images]

    assert len(embedded) == 1
    for data in [images[0].data, *embedded]:
        image = opened(data)
        assert len(image.getexif()) == 0
        assert not {"exif", "comment", "xmp"} & set(image.info)
        assert b"Exif\x00\x00" not in data
        for trace in (b"PhoneMaker", b"Anna", b"Bahnhofstrasse"):
            assert trace not in data


def test_photo_comes_out_upright_whatever_its_orientation_tag() -> None:
    # Stored sideways: red on the left, blue on the right; tag 6 says "turn clockwise to view",
    # which puts red on top.
    sideways = Image.new("RGB", (60, 40), RED)
    sideways.paste(Image.new("RGB", (30, 40), BLUE), (30, 0))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6

    (out,) = build_photo_set([photo(encode(sideways, exif=exif))], budget=MB)

    image = opened(out.data)
    assert image.size == (40, 60)
    top, bottom = image.getpixel((20, 8)), image.getpixel((20, 52))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 150 > top[2]
    assert bottom[2] > 150 > bottom[0]


def test_set_larger_than_budget_is_shrunk_to_fit(big_photos: list[SourcePhoto]) -> None:
    budget = 2 * MB
    assert sum(part_size(len(p.data)) for p in big_photos) > 5 * budget

    out = build_photo_set(big_photos, budget=budget)

    assert len(out) == len(big_photos)
    assert total_encoded(out) <= budget
    for attachment in out:
        assert attachment.content_type == "image/jpeg"
        image = opened(attachment.data)
        assert image.format == "JPEG"
        assert EDGES[-1] <= max(image.size) < 3000
        assert image.width * 2 == pytest.approx(image.height * 3, abs=3)


def test_set_within_budget_keeps_the_largest_size() -> None:
    (out,) = build_photo_set([photo(noisy(2400, 1800, 7))], budget=10 * MB)

    assert opened(out.data).size == (EDGES[0], 1536)


def test_set_that_cannot_fit_is_refused_with_count_and_budget() -> None:
    photos = [photo(noisy(900, 600, seed)) for seed in range(5)]

    with pytest.raises(TooLarge) as refusal:
        build_photo_set(photos, budget=80_000)

    assert "The 5 photos do not fit into the email's 0.1 MB" in refusal.value.detail
    assert "Choose fewer photos" in refusal.value.detail
    with pytest.raises(TooLarge, match="5 photos"):
        build_photo_pdf(photos, budget=80_000, ctx=order_context())


def test_big_jpeg_decodes_at_reduced_scale() -> None:
    big = encode(Image.new("RGB", (3000, 2000), RED))

    assert decode_reduced(big, 640).size == (750, 500)  # 1/4 is the deepest cut above 640 px
    assert decode_reduced(big, 1600).size == (3000, 2000)  # 1/2 would be below 1600 px
    assert decode_reduced(encode(Image.new("RGB", (3000, 2000)), "PNG"), 640).size == (3000, 2000)


def test_draft_box_has_the_photo_aspect_ratio_so_panoramas_shrink_too() -> None:
    # A square 1000×1000 box would be bound by the 1000 px short side: no reduction at all.
    panorama = encode(Image.new("RGB", (4000, 1000), BLUE))

    assert decode_reduced(panorama, 1000).size == (1000, 250)


def test_photo_set_decodes_big_jpegs_in_draft_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    drafts: list[tuple[tuple[int, int], tuple[int, int], tuple[int, int]]] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(
        self: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> object:
        before = self.size
        result = draft(self, mode, size)
        assert size is not None
        drafts.append((before, size, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)

    build_photo_set([photo(noisy(3000, 2000, 3))], budget=400_000)

    assert drafts
    for (width, height), (box_width, box_height), _ in drafts:
        assert box_width * height == pytest.approx(box_height * width, rel=0.01)
    assert any(decoded[0] < before[0] for before, _, decoded in drafts)


def test_transparent_png_is_flattened_onto_white() -> None:
    logo_like = Image.new("RGBA", (40, 40), (0, 0, 0, 0))
    logo_like.paste(Image.new("RGBA", (20, 20), (*RED, 255)), (10, 10))

    (out,) = build_photo_set([photo(encode(logo_like, "PNG"))], budget=MB)

    image = opened(out.data)
    assert (image.format, image.mode) == ("JPEG", "RGB")
    corner, centre = image.getpixel((2, 2)), image.getpixel((20, 20))
    assert isinstance(corner, tuple)
    assert isinstance(centre, tuple)
    assert min(corner) > 240
    assert centre[0] > 180 > centre[1]


def test_webp_photo_is_sent_as_jpeg() -> None:
    webp = encode(Image.new("RGB", (80, 60), BLUE), "WEBP")

    (out,) = build_photo_set([photo(webp, filename="IMG_2.webp")], budget=MB)

    assert (out.filename, opened(out.data).format) == ("IMG_2.jpg", "JPEG")


def test_filenames_are_safe_and_distinct() -> None:
    photos = [
        photo(b"", "Pumpe vorher"),
        photo(b"", "pumpe VORHER"),
        photo(b"", "Pumpe vorher"),
        photo(b"", "", "C:\\DCIM\\IMG_0001.HEIC"),
        photo(b"", 'Ventil: 3/4" <neu>\r\n'),
        photo(b"", "   ", ""),
        photo(b"", "x" * 200),
        photo(b"", "x" * 200),
    ]

    names = photo_filenames(photos)

    assert names[:6] == [
        "Pumpe vorher.jpg",
        "pumpe VORHER (2).jpg",
        "Pumpe vorher (3).jpg",
        "IMG_0001.jpg",
        "Ventil 3-4 neu.jpg",
        "photo.jpg",
    ]
    assert names[7] == "x" * 112 + " (2).jpg"
    assert all(len(name) <= 120 for name in names)


def test_photo_pdf_is_one_pdf_under_budget_with_the_captions() -> None:
    captions = ["Wärmetauscher vorher", "Счётчик после замены", "Vanne d'arrêt remplacée"]
    photos = [photo(noisy(2400, 1600, seed), caption) for seed, caption in enumerate(captions)]
    budget = MB
    assert sum(part_size(len(p.data)) for p in photos) > budget

    out = build_photo_pdf(photos, budget=budget, ctx=order_context())

    assert (out.filename, out.content_type) == ("photos.pdf", "application/pdf")
    assert part_size(len(out.data)) <= budget
    pages = PdfReader(io.BytesIO(out.data)).pages
    assert len(pages) == len(photos)
    for page, caption in zip(pages, captions, strict=True):
        assert caption in page.extract_text()
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            (595.28, 841.89), abs=0.5
        )


def test_empty_selection_is_refused() -> None:
    with pytest.raises(Invalid, match="No photo is selected"):
        build_photo_set([], budget=MB)
    with pytest.raises(Invalid, match="No photo is selected"):
        build_photo_pdf([], budget=MB, ctx=order_context())


def test_unreadable_photo_is_named_in_the_refusal() -> None:
    with pytest.raises(Invalid, match="“Zähler” cannot be read"):
        build_photo_set([photo(b"not an image", "Zähler")], budget=MB)
