"""/api/schema/ (apart from core/api/schema.py, which DRF's settings import before the views)."""

import threading

from drf_spectacular.views import SpectacularAPIView
from rest_framework.response import Response


class SchemaView(SpectacularAPIView):
    """/api/schema/, built once per process: the schema does not change while the process runs, and
    drf-spectacular's lazy loading of its extensions is not safe for two first requests at once
    (one of them answered 500)."""

    _lock = threading.Lock()
    _schema = None

    def _get_schema_response(self, request):
        with self._lock:
            if SchemaView._schema is None:
                generator = self.generator_class(
                    urlconf=self.urlconf, api_version=self.api_version, patterns=self.patterns
                )
                SchemaView._schema = generator.get_schema(request=request, public=self.serve_public)
        return Response(
            data=SchemaView._schema,
            headers={"Content-Disposition": f'inline; filename="{self._get_filename(request, self.api_version)}"'},
        )
