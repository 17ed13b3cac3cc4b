from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from core.paging import cursor_dumps, cursor_loads


class ValidatedCursorPagination(CursorPagination):
    """Cursor pagination whose parameters are checked: a `page_size` that is not a whole number
    from 1 to max_page_size, or a `cursor` that is not one we issued, is a 400 naming it (DRF
    would ignore the first and answer 404 to the second)."""

    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            value = int(raw)
        except ValueError:
            value = 0
        if not 1 <= value <= self.max_page_size or raw.strip() != str(value):
            raise ValidationError(
                {self.page_size_query_param: [f"A whole number from 1 to {self.max_page_size}."]}, code="invalid"
            )
        return value

    def _bad_cursor(self) -> ValidationError:
        return ValidationError(
            {self.cursor_query_param: ["Not a cursor from this list's next or previous link."]}, code="invalid"
        )

    def encode_cursor(self, cursor):
        token = cursor_dumps({"o": cursor.offset, "r": cursor.reverse, "p": cursor.position}, kind="api")
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    def decode_cursor(self, request):
        """DRF's (offset, reverse, position), through the site's one cursor codec (core.paging)."""
        token = request.query_params.get(self.cursor_query_param)
        if token is None:
            return None
        data = cursor_loads(token, kind="api")
        if not isinstance(data, dict):
            raise self._bad_cursor()
        offset, reverse, position = data.get("o"), data.get("r"), data.get("p")
        if (
            type(offset) is not int
            or not 0 <= offset <= self.offset_cutoff
            or not isinstance(reverse, bool)
            or not (position is None or isinstance(position, str))
        ):
            raise self._bad_cursor()
        return Cursor(offset=offset, reverse=reverse, position=position)

    def paginate_queryset(self, queryset, request, view=None):
        if request.query_params.get(self.cursor_query_param) is None:
            return super().paginate_queryset(queryset, request, view)
        try:
            return super().paginate_queryset(queryset, request, view)
        except (DjangoValidationError, ValueError, OverflowError):  # a position the ordering field refuses
            raise self._bad_cursor() from None

    def get_schema_operation_parameters(self, view):
        return [
            {
                "name": self.cursor_query_param,
                "required": False,
                "in": "query",
                "description": "Opaque token from `next` or `previous`.",
                "schema": {"type": "string", "format": "cursor"},
            },
            {
                "name": self.page_size_query_param,
                "required": False,
                "in": "query",
                "description": f"Results per page, 1–{self.max_page_size} (default {self.page_size}).",
                "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size},
            },
        ]


class CreatedCursorPagination(ValidatedCursorPagination):
    """Cursor pagination on (created_at, id): stable and index-backed at any depth."""

    ordering = ("-created_at", "-id")
    page_size = 50


def pagination_parameters(pagination_class) -> list[OpenApiParameter]:
    """The `cursor` and `page_size` query parameters of `pagination_class`, for the schema of a view
    that paginates a list inside a larger body (an APIView: drf-spectacular declares them only for
    list views)."""
    return [
        OpenApiParameter(
            p["name"], type=p["schema"], location=p["in"], required=p["required"], description=p["description"]
        )
        for p in pagination_class().get_schema_operation_parameters(None)
    ]
