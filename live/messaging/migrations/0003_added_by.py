"""Message.added_by: an "added" line names who added by the account ("carol was added by alice"), not by the nickname
alice had then (a rename, then an erasure, left the old nickname in the line; someone taking that name later and
erasing their account blanked it). Existing lines: the account of that nickname that takes part in the conversation,
when there is one; the others keep the name they were written with."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def link_adders(apps, schema_editor):
    Message = apps.get_model("messaging", "Message")
    Participant = apps.get_model("messaging", "Participant")
    for line in Message.objects.filter(kind="added", added_by__isnull=True).exclude(body="").iterator():
        adder = (Participant.objects.filter(conversation_id=line.conversation_id, user__nickname=line.body,
                                            user__erased_at__isnull=True)
                 .values_list("user_id", flat=True).first())
        if adder is not None:
            Message.objects.filter(pk=line.pk).update(added_by_id=adder, body="")


class Migration(migrations.Migration):

    dependencies = [
        ('messaging', '0002_added_participants'),
        ('accounts', '0004_nickname_unique_ignoring_case'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='message',
            name='added_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                    related_name='+', to=settings.AUTH_USER_MODEL),
        ),
        migrations.RunPython(link_adders, migrations.RunPython.noop),
    ]
