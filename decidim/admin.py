"""allauth's own admin pages are taken away: the Decidim organizations come from the environment only (a SocialApp
added in the admin would be a second, silent way), and accounts and their links change through the services."""

from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin

for model in (EmailAddress, SocialAccount, SocialApp, SocialToken):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
