"""Photos: 12 MP camera JPEGs (EXIF orientation 6 and a GPS position) made fit for an email:
1600 px on the long side, upright, without metadata, re-encoded as JPEG quality 85.

Ours is the photo documentation's path (`organisatrice.compose.photo_set.email_photo`, what
`build_photo_set` does per photo at one rung of its ladder); the baselines are (a) naive Pillow,
which decodes every pixel before resizing, and (b) libvips `thumbnail`, which shrinks while
decoding. Each runs in its own worker process (one core), round after round in rotating order;
then all three again over a pool of one process per core. Peak MB is the growth of the worker's
peak resident memory while it processed the photos (its imports excluded).
"""

from __future__ import annotations

import asyncio
import ctypes.util
import importlib.util
import io
import os
import random
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

from PIL import ExifTags, Image, ImageOps

from bench.common import Measurement, Row, alternate, ratio_row

EDGE = 1600
QUALITY = 85


def camera_photo(width: int, height: int, seed: int) -> bytes:
    """A JPEG as a phone writes it: detailed (hard to compress), stored sideways with EXIF
    orientation 6, with the camera's make and where it was taken."""
    rng = random.Random(seed)
    small = (width // 8, height // 8)
    noise = Image.frombytes("RGB", small, rng.randbytes(small[0] * small[1] * 3))
    image = noise.resize((width, height), Image.Resampling.BICUBIC)
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (8.0, 32.0, 30.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


# What each worker process does with one photo. Module-level, so that the pool can pickle them.


def ours(data: bytes) -> bytes:
    from organisatrice.compose.photo_set import SourcePhoto, email_photo

    return email_photo(SourcePhoto(data=data, caption="", filename="IMG.jpg"), EDGE, QUALITY)


def naive_pillow(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((EDGE, EDGE), Image.Resampling.LANCZOS)
        out = io.BytesIO()
        # Without `exif=`, Pillow writes no EXIF: the GPS position stays behind.
        upright.save(out, "JPEG", quality=QUALITY)
    return out.getvalue()


def libvips(data: bytes) -> bytes:
    import pyvips

    # One thread, like the others: "one core" means one (VIPS_CONCURRENCY is read only once,
    # when libvips starts).
    pyvips.concurrency_set(1)
    # thumbnail applies the EXIF orientation and shrinks inside the JPEG decoder.
    image = pyvips.Image.thumbnail_buffer(data, EDGE, height=EDGE)
    out: bytes = image.jpegsave_buffer(Q=QUALITY, strip=True)
    return out


METHODS: dict[str, Callable[[bytes], bytes]] = {
    "ours": ours,
    "naive Pillow": naive_pillow,
    "libvips thumbnail": libvips,
}


def _init_worker() -> None:
    # One thread per process: "one core" means one, and the pool spreads the photos.
    os.environ["VIPS_CONCURRENCY"] = "1"


def _warm(name: str) -> float:
    """Import what the method needs; answer the peak memory so far (MB)."""
    METHODS[name](camera_photo(320, 240, 0))
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batch(name: str, photos: list[bytes]) -> tuple[float, float, int]:
    """Process the photos one after the other; (seconds, peak MB, output bytes)."""
    start = time.perf_counter()
    size = 0
    for data in photos:
        out = METHODS[name](data)
        size += len(out)
        _check(out)
    seconds = time.perf_counter() - start
    return seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, size


def _check(out: bytes) -> None:
    with Image.open(io.BytesIO(out)) as image:
        # Upright (the sources are 4:3 landscape stored sideways), 1600 px, no EXIF.
        if max(image.size) != EDGE or image.width > image.height or image.getexif():
            raise RuntimeError(f"wrong output: {image.size}, exif {dict(image.getexif())}")


def _set_cores(photos: list[bytes]) -> float:
    """How many cores the photo documentation's own path keeps busy with several photos."""
    from organisatrice.compose.photo_set import SourcePhoto, build_photo_set

    sources = [
        SourcePhoto(data=d, caption=f"Photo {n}", filename="IMG.jpg") for n, d in enumerate(photos)
    ]
    wall, cpu = time.perf_counter(), time.process_time()
    build_photo_set(sources, budget=10**9)
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def libvips_available() -> bool:
    """pyvips and libvips are installed (found, not imported: libvips would start its threads
    here, before the worker processes fork)."""
    return importlib.util.find_spec("pyvips") is not None and bool(ctypes.util.find_library("vips"))


async def run(size: str, *, rounds: int, warmup: int) -> list[Row]:
    width, height, count = (4000, 3000, 6) if size == "full" else (1600 * 5 // 4, 1200 * 5 // 4, 2)
    print(f"  making {count} photos of {width}×{height}", flush=True)
    photos = [camera_photo(width, height, seed) for seed in range(count)]
    names = [n for n in METHODS if n != "libvips thumbnail" or libvips_available()]
    loop = asyncio.get_running_loop()
    pools = {n: ProcessPoolExecutor(max_workers=1, initializer=_init_worker) for n in names}
    try:
        floor = {n: await loop.run_in_executor(pools[n], _warm, n) for n in names}

        def one_core(name: str) -> Callable[[], object]:
            async def measure() -> Measurement:
                seconds, peak, _ = await loop.run_in_executor(pools[name], _batch, name, photos)
                return {"photos/s": count / seconds, "peak MB": peak - floor[name]}

            return measure

        print("  one core", flush=True)
        single = await alternate(
            {n: one_core(n) for n in names},  # type: ignore[misc]
            rounds=rounds,
            warmup=warmup,
        )
    finally:
        for pool in pools.values():
            pool.shutdown()
    cores = os.cpu_count() or 1
    spread = photos * cores * (2 if size == "full" else 1)

    def all_cores(name: str) -> Callable[[], object]:
        async def measure() -> Measurement:
            with ProcessPoolExecutor(max_workers=cores, initializer=_init_worker) as pool:
                # Imports and the pool's start-up are not the photos' work.
                await asyncio.gather(
                    *(loop.run_in_executor(pool, _warm, name) for _ in range(cores))
                )
                start = time.perf_counter()
                await asyncio.gather(
                    *(loop.run_in_executor(pool, METHODS[name], data) for data in spread)
                )
                return {"photos/s": len(spread) / (time.perf_counter() - start)}

        return measure

    print(f"  all {cores} cores", flush=True)
    multi = await alternate(
        {n: all_cores(n) for n in names},  # type: ignore[misc]
        rounds=rounds,
        warmup=warmup,
    )
    rows = []
    for label, measured in (("one core", single), (f"all {cores} cores", multi)):
        rows.append(
            ratio_row(
                benchmark=f"Photos 12 MP → 1600 px, {label}, vs naive Pillow",
                database="-",
                unit="photos/s",
                ours=measured["ours"],
                baseline=measured["naive Pillow"],
                baseline_name="naive Pillow (full decode, resize)",
                key="photos/s",
                target="≥ 2× naive Pillow",
                met=lambda r: r is not None and r >= 2,
            )
        )
        if "libvips thumbnail" in measured:
            rows.append(
                ratio_row(
                    benchmark=f"Photos 12 MP → 1600 px, {label}, vs libvips",
                    database="-",
                    unit="photos/s",
                    ours=measured["ours"],
                    baseline=measured["libvips thumbnail"],
                    baseline_name="libvips thumbnail",
                    key="photos/s",
                    target="≥ 1× libvips",
                    met=lambda r: r is not None and r >= 1,
                )
            )
        else:
            rows.append(
                Row(
                    benchmark=f"Photos 12 MP → 1600 px, {label}, vs libvips",
                    unit="photos/s",
                    ours=measured["ours"]["photos/s"],
                    target="≥ 1× libvips",
                    note="skipped: pyvips/libvips not installed (`make bench` installs them)",
                )
            )
    cores_used = [await loop.run_in_executor(None, _set_cores, photos) for _ in range(rounds)]
    used = sorted(cores_used)[len(cores_used) // 2]
    rows.append(
        Row(
            benchmark=f"Photos, ours: a set of {count} in one build_photo_set call",
            unit="cores busy",
            ours=used,
            target=f"≥ {0.75 * cores:.1f} of {cores} (all cores used)",
            met=used >= 0.75 * cores,
            note="CPU seconds of all threads ÷ wall seconds",
        )
    )
    return rows
