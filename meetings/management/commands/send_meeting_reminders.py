from django.core.management.base import BaseCommand

from meetings import notifications


class Command(BaseCommand):
    help = ("Remind the people registered for a meeting, the day before and an hour before it starts (each reminder "
            "once per person, however often this runs). Run every 5 minutes (docs/deploy.md).")

    def handle(self, *args, **options):
        reminded = notifications.send_reminders()
        self.stdout.write(f"{reminded} reminder(s) sent")
