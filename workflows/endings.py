"""How a journey's run ends early: raised inside it, caught at the top of its run method."""

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from domain.notifications import NotificationKind
    from domain.stages import Stage


class Ended(Exception):
    """The journey ends early at a final stage, with the notification to send, if any."""

    def __init__(self, stage: Stage, kind: NotificationKind | None, reason: str = "") -> None:
        super().__init__(stage.value)
        self.stage, self.kind, self.reason = stage, kind, reason


class Withdrawn(Exception):
    """A withdrawal interrupted the journey; the run method undoes what was booked."""
