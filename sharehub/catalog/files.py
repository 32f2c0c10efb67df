"""Photos (with thumbnails), specification PDFs and dataset samples of a listing."""

from __future__ import annotations

import io
import json

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from sharehub.catalog.models import Listing, ListingFile, ListingKind
from sharehub.catalog.services import require_manager
from sharehub.core import audit
from sharehub.core.errors import Conflict, ValidationError
from sharehub.core.uploads import sniff_document, store_bytes
from sharehub.extensions import db

MAX_PHOTO_BYTES = 8 * 1024 * 1024
MAX_DOC_BYTES = 20 * 1024 * 1024
MAX_PHOTOS = 12
THUMB_SIZE = (480, 360)


def _sniff_sample(data: bytes, filename: str) -> str:
    """Dataset samples: PDF, CSV or JSON, checked by content."""
    if data.startswith(b"%PDF-"):
        return sniff_document(data)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(_l("A sample is a PDF, or a CSV or JSON file in UTF-8.")) from exc
    if filename.lower().endswith(".json"):
        try:
            json.loads(text)
        except ValueError as exc:
            raise ValidationError(_l("The JSON sample does not parse.")) from exc
        return "application/json"
    if "\x00" in text or ("," not in text and "\t" not in text):
        raise ValidationError(_l("A sample is a PDF, or a CSV or JSON file in UTF-8."))
    return "text/csv"


def _thumbnail(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as image:
        image = ImageOps.exif_transpose(image)
        image.thumbnail(THUMB_SIZE)
        out = io.BytesIO()
        image.convert("RGB").save(out, "WEBP", quality=80)
        return out.getvalue()


def add_file(actor, listing: Listing, role: str, data: bytes, filename: str) -> ListingFile:
    require_manager(actor, listing.lab)
    if role == "photo":
        if len(data) > MAX_PHOTO_BYTES:
            raise ValidationError(_l("A photo may be at most 8 MB."), field="photo")
        if len(listing.photos) >= MAX_PHOTOS:
            raise Conflict(_l("A listing has at most %(n)s photos.", n=MAX_PHOTOS))
        content_type = sniff_document(data)
        if content_type == "application/pdf":
            raise ValidationError(_l("A photo is a JPEG, PNG or WebP image."), field="photo")
        thumb = store_bytes(_thumbnail(data), "thumb.webp", "image/webp")
    elif role == "spec":
        if len(data) > MAX_DOC_BYTES:
            raise ValidationError(_l("A document may be at most 20 MB."), field="document")
        content_type = sniff_document(data)
        if content_type != "application/pdf":
            raise ValidationError(_l("A specification is a PDF file."), field="document")
        thumb = None
    elif role in ("sample", "data"):
        if listing.kind != ListingKind.DATASET:
            raise ValidationError(_l("Only datasets have samples."))
        if len(data) > MAX_DOC_BYTES:
            raise ValidationError(_l("A document may be at most 20 MB."), field="document")
        content_type = _sniff_sample(data, filename)
        thumb = None
    else:
        raise ValidationError(_l("Unknown kind of file."))
    stored = store_bytes(data, filename, content_type)
    record = ListingFile(
        listing=listing,
        role=role,
        original_name=stored.original_name,
        stored_name=stored.stored_name,
        thumb_name=thumb.stored_name if thumb else None,
        content_type=content_type,
        size=stored.size,
        position=len(listing.files),
    )
    db.session.add(record)
    db.session.flush()
    audit.record(
        actor,
        "listing.file_added",
        listing,
        organisation=listing.lab_id,
        role=role,
        file=stored.original_name,
    )
    db.session.flush()
    return record


def remove_file(actor, record: ListingFile) -> None:
    require_manager(actor, record.listing.lab)
    audit.record(
        actor,
        "listing.file_removed",
        record.listing,
        organisation=record.listing.lab_id,
        file=record.original_name,
    )
    db.session.delete(record)
    db.session.flush()
