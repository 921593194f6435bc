from django.core.management.base import BaseCommand

from live import streams


class Command(BaseCommand):
    help = "Drop stream events past retention (LIVE.RETENTION_DAYS / RETENTION_EVENTS). Run hourly."

    def handle(self, *args, **options):
        removed = streams.prune()
        self.stdout.write(f"{removed} events removed")
