from django import template

from decidim.organizations import organizations

register = template.Library()


@register.simple_tag
def decidim_organizations():
    """The organizations to offer "Se connecter avec Decidim" for; none configured: no button."""
    return organizations()
