import time

SESSION_TOUCHED_KEY = "_touched"
TOUCH_INTERVAL_SECONDS = 60


class SessionIdleTimeoutMiddleware:
    """Extends a logged-in session's expiry at most once a minute instead of writing it on every request
    (what SESSION_SAVE_EVERY_REQUEST does): the idle timeout stays SESSION_COOKIE_AGE to within a minute."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(SESSION_TOUCHED_KEY, 0) >= TOUCH_INTERVAL_SECONDS:
                session[SESSION_TOUCHED_KEY] = now  # marks the session modified: saved with a new expiry
        return response
