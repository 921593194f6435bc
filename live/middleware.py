from live import actions
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
    Also turns RateLimited raised by any service into a clear 429 (live.actions)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CSP)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RateLimited):
            return actions.refusal(request, exception)  # a write outside a view the seam wraps
        return None
