from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "live.messaging"
    label = "messaging"
