"""Run every few minutes (cron: `*/5 * * * * .venv/bin/python manage.py send_message_digests`, or a systemd timer;
see docs/deploy.md): e-mails people whose private messages stayed unread for MESSAGING_DIGEST_DELAY_MINUTES while
they had no open connection. Safe to run concurrently and as often as you like."""

from django.core.management.base import BaseCommand

from live.messaging.digest import send_digests


class Command(BaseCommand):
    help = "E-mail digests of unread private messages (run periodically, e.g. every 5 minutes)."

    def handle(self, *args, **options):
        sent = send_digests()
        self.stdout.write(f"{sent} message digest(s) sent.")
