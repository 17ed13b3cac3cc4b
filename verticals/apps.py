from django.apps import AppConfig


class VerticalsConfig(AppConfig):
    name = "verticals"
