"""The download of one proof file, for whoever may see what it proves."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import FileResponse
from django.views.decorators.http import require_safe

from kongchuo.access.scoping import access_object, require_role
from retrieval.models import Evidence
from retrieval.web import EVERYONE


@login_required
@require_safe
def evidence_file(request, pk: int):
    """Serve one evidence file to whoever may see what it proves (files are never served
    from MEDIA_URL). Images inline, PDFs as downloads, sandboxed either way."""
    require_role(request.user, *EVERYONE)
    ev = access_object(Evidence.objects, request.user, pk=pk)
    response = FileResponse(ev.file.open("rb"), content_type=ev.mime,
                            as_attachment=not ev.is_image, filename=ev.original_name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "sandbox; default-src 'none'"
    response["Cache-Control"] = "private, no-store"
    return response
