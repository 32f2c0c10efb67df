"""Small valid uploads: a PDF and a PNG."""

from __future__ import annotations


def pdf_bytes() -> bytes:
    return b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 80, 120)).save(buffer, "PNG")
    return buffer.getvalue()
