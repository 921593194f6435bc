"""Demo data for `make run`: people with known demo passwords, then each app's demo content (its `demo.seed`)."""

import importlib

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_PASSWORD = "agora-demo-2026"
PEOPLE = [
    # nickname, role, what they are for
    ("alice", "participant", "a resident who takes part in debates"),
    ("bob", "participant", "another resident"),
    ("carol", "participant", "a third resident"),
    ("mona", "moderator", "moderates the whole platform"),
    ("fiona", "facilitator", "runs the Agora meetings"),
    ("admin", "administrator", "administers the platform (Django admin)"),
]
APPS_WITH_DEMO = ["debates.demo", "meetings.demo", "live.messaging.demo", "live.moderation.demo"]


class Command(BaseCommand):
    help = "Create demo users and content (idempotent)."

    def handle(self, *args, **options):
        User = get_user_model()
        created = []
        with transaction.atomic():
            for nickname, role, _why in PEOPLE:
                if User.objects.filter(nickname=nickname).exists():
                    continue
                User.objects.create_user(username=f"{nickname}@demo.agora", email=f"{nickname}@demo.agora",
                                         password=DEMO_PASSWORD, nickname=nickname, role=role,
                                         is_staff=role == "administrator", is_superuser=role == "administrator")
                created.append(nickname)
        for module_name in APPS_WITH_DEMO:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError:
                continue
            module.seed(stdout=self.stdout)
        if created:
            self.stdout.write(self.style.SUCCESS(f"Demo accounts (password for all: {DEMO_PASSWORD}):"))
            for nickname, role, why in PEOPLE:
                self.stdout.write(f"  {nickname:<8} {role:<14} {why}")
        else:
            self.stdout.write("Demo data already present.")
