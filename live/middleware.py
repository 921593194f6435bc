from django.http import HttpResponse
from django.shortcuts import render

from live.ratelimit import RateLimited

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
])


class ContentSecurityPolicyMiddleware:
    """No inline scripts anywhere: user content can never run code, and htmx runs with allowEval off.
    Also turns RateLimited raised by any service into a clear 429."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return rate_limited_response(request, exception)
        return None


def rate_limited_response(request, exc: RateLimited) -> HttpResponse:
    response = render(request, "live/rate_limited.html", {"message": exc.message, "retry_after": exc.retry_after},
                      status=429)
    response["Retry-After"] = str(exc.retry_after)
    if getattr(request, "htmx", False):
        # Show the message where htmx shows errors instead of swapping the target away.
        response["HX-Retarget"] = "#flash"
        response["HX-Reswap"] = "innerHTML"
    return response
