from django.db.models import QuerySet

from accounts.models import ApiKey, User


def api_key_list_for_user(*, user: User) -> QuerySet:
    return ApiKey.objects.filter(user=user).order_by("-created_at", "-id")


def api_key_get_for_user(*, user: User, api_key_id: int) -> ApiKey:
    """Raises ApiKey.DoesNotExist for another user's key (callers answer 404)."""
    return ApiKey.objects.get(pk=api_key_id, user=user)
