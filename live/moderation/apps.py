from django.apps import AppConfig


class ModerationConfig(AppConfig):
    name = "live.moderation"
    label = "moderation"
