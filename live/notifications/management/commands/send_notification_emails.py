from django.core.management.base import BaseCommand

from live.notifications import email


class Command(BaseCommand):
    help = ("Send the notification e-mails that are due: daily digests, and at-once e-mails held back by the rate "
            "limit (as one digest). Run every few minutes (docs/deploy.md).")

    def handle(self, *args, **options):
        sent = email.send_due()
        self.stdout.write(f"{sent} e-mail(s) sent")
