"""Uploaded files: checked by content, stored outside static/ under random names."""

from __future__ import annotations

import hashlib
import io
import secrets
import warnings
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import sqlalchemy.orm as so
from flask import current_app, send_file
from flask_babel import lazy_gettext as _l
from PIL import Image, UnidentifiedImageError

from sharehub.core.errors import ValidationError

# 40 megapixels: a camera's full frame fits, a decompression bomb does not. Pillow refuses
# twice its MAX_IMAGE_PIXELS outright and warns above it; both are refusals here.
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
EXTENSIONS = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
}


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    original_name: str
    content_type: str
    size: int
    sha256: str


def sniff_document(data: bytes) -> str:
    """Return the real content type of a PDF or image, or raise ValidationError."""
    if data.startswith(b"%PDF-"):
        if b"%%EOF" not in data[-2048:]:
            raise ValidationError(_l("The PDF file is incomplete or damaged."))
        return "application/pdf"
    fmt = _check_image(data)
    if fmt is None or fmt not in IMAGE_FORMATS:
        raise ValidationError(_l("The file is not a PDF, JPEG, PNG or WebP document."))
    return IMAGE_FORMATS[fmt]


def _check_image(data: bytes) -> str | None:
    """The image's format (None when Pillow cannot name it), once its size is known to be
    sane and it decodes to the last pixel: the header alone (verify) lets a truncated file
    through, and a huge picture (a decompression bomb: 30000 × 30000 in a few kilobytes)
    would fill the memory."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data)) as image:
                fmt = image.format
                too_big = image.width * image.height > MAX_IMAGE_PIXELS
                if not too_big:
                    image.verify()
            if too_big:
                raise Image.DecompressionBombError(fmt)
            with Image.open(io.BytesIO(data)) as image:
                image.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ValidationError(
                _l(
                    "The image has too many pixels (at most %(n)s million); "
                    "send a smaller picture.",
                    n=MAX_IMAGE_PIXELS // 1_000_000,
                )
            ) from exc
        except UnidentifiedImageError as exc:
            raise ValidationError(_l("The file is not a PDF, JPEG, PNG or WebP document.")) from exc
        except (OSError, SyntaxError, ValueError, EOFError) as exc:
            raise ValidationError(
                _l("The image is incomplete or damaged; it cannot be shown.")
            ) from exc
    return fmt


def human_size(n: int) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.3g} MB"
    if n >= 1024:
        return f"{n / 1024:.3g} KB"
    return f"{n} B"


def read_upload(file_storage, max_bytes: int) -> tuple[bytes, str]:
    """Read an uploaded file up to its limit; the limit is checked before storing."""
    data = file_storage.stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ValidationError(_l("The file is larger than %(size)s.", size=human_size(max_bytes)))
    if not data:
        raise ValidationError(_l("The file is empty."))
    return data, (file_storage.filename or "upload")[:200]


def store_bytes(data: bytes, original_name: str, content_type: str) -> StoredFile:
    root = Path(current_app.config["STORAGE_DIR"])
    root.mkdir(parents=True, exist_ok=True)
    name = secrets.token_hex(16) + EXTENSIONS.get(content_type, ".bin")
    (root / name).write_bytes(data)
    return StoredFile(
        stored_name=name,
        original_name=original_name,
        content_type=content_type,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def stored_path(stored_name: str) -> Path:
    root = Path(current_app.config["STORAGE_DIR"]).resolve()
    path = (root / stored_name).resolve()
    if path.parent != root:
        raise ValidationError(_l("Unknown file."))
    return path


class StoredFileMixin:
    """The columns of a model whose row describes a file kept in storage (documents,
    evidence, listing photos): its name as uploaded, its random name in storage, its
    checked type and its size. `send_stored` serves it."""

    original_name: so.Mapped[str] = so.mapped_column(sa.String(200))
    stored_name: so.Mapped[str] = so.mapped_column(sa.String(64), unique=True)
    content_type: so.Mapped[str] = so.mapped_column(sa.String(64))
    size: so.Mapped[int]


def send_stored(record: StoredFileMixin, *, as_attachment: bool = True, max_age: int | None = None):
    """The file a row describes, under the name it was uploaded with; a download unless
    `as_attachment` is False (a photo shown in the page)."""
    return send_file(
        stored_path(record.stored_name),
        mimetype=record.content_type,
        download_name=record.original_name,
        as_attachment=as_attachment,
        max_age=max_age,
    )
