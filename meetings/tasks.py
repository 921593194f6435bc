"""Background tasks (django-tasks, run by django-tasks-db's worker: `manage.py db_worker`)."""

from django_tasks import task

from meetings import notifications


@task()
def announce_to_registered(meeting_id: int, event: str, actor_id: int | None = None) -> int:
    return notifications.announce(meeting_id, event, actor_id)
