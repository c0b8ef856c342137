"""Evidence uploads: decide the type from the bytes, never from the name or the browser's claim.

Accepted: JPEG, PNG, WebP images and PDF, up to KONGCHUO_ATTACHMENT_MAX_BYTES. Everything else
(SVG, HTML, Office files, archives, a .jpg that is really a script) is refused before storage.
"""

from __future__ import annotations

from typing import IO

from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kongchuo.portal.uploads import PHOTO_OR_PDF_ACCEPT

MB = 1024 * 1024
_PDF_TAIL = 4096


def sniff_attachment(fh: IO[bytes], *, size: int, max_bytes: int) -> str:
    """Return the MIME type judged from content or raise ValidationError (with a code).

    Leaves the file position at 0.
    """
    if size <= 0:
        raise ValidationError(gettext("文件为空"), code="empty")
    if size > max_bytes:
        raise ValidationError(gettext("文件过大（上限 %(mb)s MB）") % {"mb": max_bytes // MB}, code="too_large")
    fh.seek(0)
    head = fh.read(32)
    mime = ""
    if head.startswith(b"\xff\xd8\xff"):
        mime = "image/jpeg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
        mime = "image/png"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        mime = "image/webp"
    elif head.startswith(b"%PDF-"):
        fh.seek(max(size - _PDF_TAIL, 0))
        if b"%%EOF" not in fh.read(_PDF_TAIL):
            fh.seek(0)
            raise ValidationError(gettext("PDF 文件不完整或已损坏"), code="damaged")
        mime = "application/pdf"
    fh.seek(0)
    if not mime:
        raise ValidationError(gettext("仅支持 JPG、PNG、WebP 图片或 PDF 文件"), code="file_type")
    return mime


ACCEPT = PHOTO_OR_PDF_ACCEPT  # the server accepts JPG, PNG, WebP and PDF (sniffed above)
HELP = _("图片（JPG/PNG/WebP）或 PDF，单个文件不超过 {mb} MB")
