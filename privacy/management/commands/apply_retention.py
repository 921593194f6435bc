from django.core.management.base import BaseCommand

from privacy import services


class Command(BaseCommand):
    help = ("Forget personal data past its retention (PRIVACY_*_DAYS, LIVE_RETENTION_DAYS). Run daily from cron; "
            "idempotent, and safe to interrupt: it works in small batches and the next run finishes the job.")

    def handle(self, *args, **options):
        for what, count in services.apply_retention().items():
            self.stdout.write(f"{what}: {count}")
