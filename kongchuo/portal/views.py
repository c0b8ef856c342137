from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render

from kongchuo.access.scoping import scope_of
from kongchuo.portal.home import home_context


@login_required
def home(request):
    scope = scope_of(request.user)
    if scope is None:
        if request.user.is_staff:
            # A superuser made with `createsuperuser` (no county role): the admin is their page.
            return redirect("admin:index")
        return render(request, "no_role.html", status=403)
    ctx = home_context(request, scope)
    return render(request, f"home/{scope.role}.html", ctx)


def healthz(request):
    return HttpResponse("ok", content_type="text/plain")
