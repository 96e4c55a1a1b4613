"""Specialists' calendars over CalDAV (the `caldav` client).

Each specialist has one calendar, `consults-<staff id>`, under the service account, or the
calendar on the same server whose address the staff directory gives for them. Events are
written with PUT to a URL derived from their UID, so a retried booking overwrites rather than
duplicates, and cancelling deletes the resource so free/busy stops counting it.
"""

import asyncio
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

from caldav.calendarobjectresource import Event as DavEvent
from caldav.collection import Calendar as DavCalendar
from caldav.davclient import DAVClient
from caldav.lib import error as caldav_error

from integrations.calendar import (
    CalendarUnavailable,
    ConsultEvent,
    event_ics,
    is_calendar_address,
)
from integrations.calendar_events import busy_intervals

# The server picks events by their times in UTC, while all-day and floating events are placed
# in the specialist's time zone, up to 14 hours away: ask it for a day more on each side, and
# cut to the window once the events are read.
SEARCH_MARGIN = timedelta(days=1)


class CalDavCalendar:
    """CalDAV through the synchronous `caldav` client, run in worker threads."""

    def __init__(self, *, url: str, username: str, password: str) -> None:
        self._server = url
        self._client = DAVClient(url=url, username=username, password=password)
        self._urls: dict[str, str] = {}

    def _calendar_url(self, calendar_id: str) -> str:
        if is_calendar_address(calendar_id):
            # The service account's password goes with every request: only to its own server.
            if _origin(calendar_id) != _origin(self._server):
                raise CalendarUnavailable("the calendar's address is not on the calendar server")
            return calendar_id.rstrip("/") + "/"
        if calendar_id not in self._urls:
            principal = self._client.principal()
            self._urls[calendar_id] = f"{str(principal.url).rstrip('/')}/{calendar_id}/"
        return self._urls[calendar_id]

    def _calendar(self, calendar_id: str) -> DavCalendar:
        return DavCalendar(client=self._client, url=self._calendar_url(calendar_id))

    async def _run(self, fn, *args):  # type: ignore[no-untyped-def]
        try:
            return await asyncio.to_thread(fn, *args)
        except caldav_error.DAVError as err:
            raise CalendarUnavailable(f"calendar server: {type(err).__name__}") from err
        except OSError as err:
            raise CalendarUnavailable(f"calendar server unreachable: {err}") from err
        except Exception as err:  # the client wraps connection errors in its HTTP library's
            if "Connection" in type(err).__name__:
                raise CalendarUnavailable("calendar server unreachable") from err
            raise

    async def ensure_calendar(self, calendar_id: str, name: str) -> None:
        def make() -> None:
            try:
                self._calendar(calendar_id).events()
            except caldav_error.NotFoundError:
                if is_calendar_address(calendar_id):
                    # A calendar the directory names is its owner's to create.
                    raise
                self._client.principal().make_calendar(name=name, cal_id=calendar_id)

        await self._run(make)

    async def busy(
        self, calendar_id: str, start: datetime, end: datetime, *, tz: tzinfo = UTC
    ) -> list[tuple[datetime, datetime]]:
        def query() -> list[tuple[datetime, datetime]]:
            items: list[Any] = self._calendar(calendar_id).search(  # type: ignore[assignment]
                start=start - SEARCH_MARGIN, end=end + SEARCH_MARGIN, event=True
            )
            return sorted(
                interval
                for item in items
                for interval in busy_intervals(
                    item.data, calendar_id=calendar_id, start=start, end=end, tz=tz
                )
            )

        result: list[tuple[datetime, datetime]] = await self._run(query)
        return result

    async def put_event(self, calendar_id: str, event: ConsultEvent) -> None:
        def put() -> None:
            url = f"{self._calendar_url(calendar_id)}{event.uid}.ics"
            DavEvent(
                client=self._client,
                url=url,
                data=event_ics(event),
                parent=self._calendar(calendar_id),
            ).save()

        await self._run(put)

    async def delete_event(self, calendar_id: str, uid: str) -> bool:
        def delete() -> bool:
            url = f"{self._calendar_url(calendar_id)}{uid}.ics"
            try:
                DavEvent(client=self._client, url=url, parent=self._calendar(calendar_id)).delete()
            except caldav_error.NotFoundError:
                return False
            return True

        deleted: bool = await self._run(delete)
        return deleted


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    return parts.scheme, (parts.hostname or "").lower(), parts.port
