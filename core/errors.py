"""Errors the services raise that the faces translate alike."""

from django.core.exceptions import ValidationError


class NotFoundError(ValidationError):
    """The object is not the caller's (someone else's purchase, dispute or lead): pages and the API
    answer 404 and never say whether it exists. A ValidationError naming the field, so a form can
    still show it; `code` is "not_found" whatever the message's shape."""

    def __init__(self, message, *args, **kwargs):
        super().__init__(message, *args, **kwargs)
        self.code = "not_found"
