from live.notifications import services

SESSION_KEY = "notifications_language"


class LastLanguageMiddleware:
    """The language a signed-in person last browsed in, for the notifications they get in their absence; written
    once per session and per change of language, not on every request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        language = getattr(request, "LANGUAGE_CODE", "")
        if (user is not None and user.is_authenticated and language and hasattr(request, "session")
                and request.session.get(SESSION_KEY) != language):
            services.remember_language(user, language)
            request.session[SESSION_KEY] = language
        return response
