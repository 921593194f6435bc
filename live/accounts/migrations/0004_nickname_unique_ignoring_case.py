import django.db.models.functions.text
from django.db import migrations, models


class Migration(migrations.Migration):
    """A separate migration from the renaming (0003): on PostgreSQL a table whose rows were just updated is altered
    in a transaction of its own."""

    dependencies = [
        ('accounts', '0003_rename_nickname_case_twins'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='user',
            constraint=models.UniqueConstraint(django.db.models.functions.text.Lower('nickname'), name='nickname_unique_ignoring_case', violation_error_message='This nickname is already taken.'),
        ),
    ]
