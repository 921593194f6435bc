from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecidimConfig(AppConfig):
    name = "decidim"
    verbose_name = _("Decidim")
