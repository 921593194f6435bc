"""The stream log: every change a live client must see is an Event row on its stream, in the change's transaction."""

from django.db import models


class StreamCounter(models.Model):
    """One row per stream: the last seq handed out, the oldest seq still kept, and the stream's epoch.

    The seq comes from `UPDATE ... RETURNING` on this row, so the row lock orders writers: seq n+1 cannot be taken
    before the transaction holding n has committed or rolled back, which keeps the log gap-free in commit order.
    A new epoch means the log was lost or rebuilt: clients holding the old one reload instead of replaying.
    """

    key = models.CharField(max_length=100, primary_key=True)
    seq = models.BigIntegerField(default=0)
    low_seq = models.BigIntegerField(default=1, help_text="Oldest seq still in the log.")
    epoch = models.CharField(max_length=16)

    def __str__(self):
        return f"{self.key}@{self.seq}"


class Event(models.Model):
    stream = models.CharField(max_length=100)
    seq = models.BigIntegerField()
    kind = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # Not stored: what the renderings of this event read, shared with the events appended together with it
    # (live/streams.py append_together, Rendering.once). An event read from the log starts without.
    reads: dict | None = None

    class Meta:
        constraints = [models.UniqueConstraint(fields=["stream", "seq"], name="event_stream_seq_unique")]
        ordering = ["stream", "seq"]

    def __str__(self):
        return f"{self.stream}#{self.seq} {self.kind}"
