"""Background tasks (django-tasks, run by django-tasks-db's worker: `manage.py db_worker`)."""

from django_tasks import task

from privacy import services


@task()
def build_export(export_id: int) -> None:
    services.build_export(export_id=export_id)
