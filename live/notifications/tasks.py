"""Background tasks (django-tasks, run by django-tasks-db's worker: `manage.py db_worker`)."""

from django_tasks import task

from live.notifications import email, push


@task()
def send_notification_emails(user_id: int, only: list[int] | None = None) -> int:
    return email.send_for(user_id, only=only)


@task()
def send_push(notification_id: int) -> int:
    return push.send(notification_id)
