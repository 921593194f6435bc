from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DecidimConfig(AppConfig):
    name = "decidim"
    verbose_name = _("Decidim")

    def ready(self):
        from decidim.services import erase_links, unlink_on_first_password
        from decidim.views import sign_out_notice
        from live import features

        features.add_sign_out_notice(sign_out_notice)
        features.add_erasure_step(erase_links)
        features.add_first_password_step(unlink_on_first_password)
