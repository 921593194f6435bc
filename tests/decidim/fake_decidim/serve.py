"""`python -m tests.decidim.fake_decidim.serve PORT`: migrate a fresh SQLite file, create the people and the OAuth
application given in the environment, serve with runserver (one process, threads)."""

import json
import os
import sys

import django


def main(port: str) -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.decidim.fake_decidim.settings"
    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    for person in json.loads(os.environ.get("FAKE_DECIDIM_PEOPLE", "[]")):
        User.objects.create_user(username=person["nickname"], email=person["email"], password=person["password"],
                                 first_name=person["name"])
    Application.objects.create(
        name="Agora Live", client_id=os.environ["FAKE_DECIDIM_CLIENT_ID"],
        client_secret=os.environ["FAKE_DECIDIM_CLIENT_SECRET"], hash_client_secret=False,
        client_type=Application.CLIENT_CONFIDENTIAL, authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=os.environ["FAKE_DECIDIM_REDIRECT_URIS"], algorithm="")
    call_command("runserver", f"127.0.0.1:{port}", use_reloader=False, skip_checks=True)


if __name__ == "__main__":
    main(sys.argv[1])
