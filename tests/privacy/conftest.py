import pytest


@pytest.fixture(autouse=True)
def _tasks_run_at_once(settings):
    """The archive is built inside the request (django-tasks' immediate backend); test_worker.py runs the real
    django-tasks-db worker instead."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
