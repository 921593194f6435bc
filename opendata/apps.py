from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpendataConfig(AppConfig):
    name = "opendata"
    verbose_name = _("Open data")

    def ready(self):
        from live import features
        from opendata.services import erase_preference

        features.add_erasure_step(erase_preference)
