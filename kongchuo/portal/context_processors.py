from django.conf import settings
from django.utils.functional import SimpleLazyObject

from kongchuo.calendar.schoolyear import current_term
from kongchuo.portal.menu import menu_for


def portal(request):
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    return {
        "county_name": settings.KONGCHUO_COUNTY_NAME,
        "menu": menu_for(request) if signed_in else [],
        # The header's "2026–2027学年 秋季学期": one small query, only on pages that show it.
        "school_term": SimpleLazyObject(current_term) if signed_in else None,
    }
