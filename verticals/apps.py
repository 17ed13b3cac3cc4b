from django.apps import AppConfig


class VerticalsConfig(AppConfig):
    name = "verticals"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from verticals.models import Vertical, VerticalField
        from verticals.services import vertical_cache_invalidate

        for model in (Vertical, VerticalField):
            for signal in (post_save, post_delete):
                signal.connect(
                    vertical_cache_invalidate, sender=model, dispatch_uid=f"verticals.cache.{model.__name__}"
                )
