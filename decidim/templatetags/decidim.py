from django import template

from decidim.organizations import organization_for_url, organizations

register = template.Library()


@register.simple_tag
def decidim_organizations():
    """The organizations to offer "Se connecter avec Decidim" for; none configured: no button."""
    return organizations()


@register.simple_tag
def decidim_organization_for(url):
    """The configured organization a Decidim link points into (None: not one of ours, so no link back)."""
    return organization_for_url(url) if url else None


@register.simple_tag
def decidim_picture_of(person):
    from decidim.selectors import decidim_picture

    return decidim_picture(person)
