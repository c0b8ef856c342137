from django.conf import settings

from kongchuo.menu import menu_for


def portal(request):
    user = getattr(request, "user", None)
    return {
        "county_name": settings.KONGCHUO_COUNTY_NAME,
        "menu": menu_for(request) if user is not None and user.is_authenticated else [],
    }
