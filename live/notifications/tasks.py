"""Background tasks (django-tasks, run by django-tasks-db's worker: `manage.py db_worker`)."""

from django_tasks import task

from live.notifications import email


@task()
def send_notification_emails(user_id: int) -> int:
    return email.send_for(user_id)
