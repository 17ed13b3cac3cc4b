from rest_framework.views import exception_handler as drf_exception_handler

from marketplace import correlation


def exception_handler(exc, context):
    """DRF's handler, plus the correlation id in every error body for support requests."""
    response = drf_exception_handler(exc, context)
    if response is not None and isinstance(response.data, dict):
        response.data.setdefault("request_id", correlation.get())
    return response
