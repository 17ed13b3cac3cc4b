"""API: autobid (placeholder, filled in by the next commit)."""

urlpatterns: list = []
