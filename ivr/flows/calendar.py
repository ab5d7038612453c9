"""Working days and business hours: the Chinese public holiday calendar (``holidays_cn.yaml``, days
off and 调休 make-up working days) and the hours during which live agents answer.

Each ``rest`` entry is an inclusive date range ``[first, last]``; ``work`` lists single dates.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from pydantic import BaseModel, ConfigDict, Field

DEFAULT_HOLIDAYS = Path(__file__).with_name("holidays_cn.yaml")


class CalendarError(ValueError):
    """A holiday file that cannot be read or makes no sense."""


class BusinessHours(BaseModel):
    """When live agents answer; a flow's ``settings.business_hours``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    open: time = time(8, 0)
    close: time = time(20, 0)
    timezone: str = "Asia/Shanghai"
    days: str = Field(default="working_days", pattern="^(working_days|every_day)$")
    calendar: str = "holidays_cn"  # the holiday file (without .yaml) the IVR loads for this flow


@dataclass(frozen=True)
class HolidayCalendar:
    name: str
    days_off: frozenset[date]
    working_weekends: frozenset[date]
    years: frozenset[int]
    provisional_years: frozenset[int]

    @classmethod
    def load(cls, path: Path = DEFAULT_HOLIDAYS) -> HolidayCalendar:
        try:
            raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
            off: set[date] = set()
            work: set[date] = set()
            provisional: set[int] = set()
            for year, spec in raw["years"].items():
                if spec.get("provisional"):
                    provisional.add(int(year))
                for name, holiday in spec["holidays"].items():
                    first, last = holiday["rest"]
                    if last < first or (last - first).days > 14:
                        raise CalendarError(f"{path}: {year} {name}: bad range {first}..{last}")
                    off.update(first + timedelta(days=n) for n in range((last - first).days + 1))
                    work.update(holiday.get("work", []))
        except (OSError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            raise CalendarError(f"{path}: {exc}") from exc
        return cls(name=str(raw.get("name", Path(path).stem)), days_off=frozenset(off),
                   working_weekends=frozenset(work), years=frozenset(int(y) for y in raw["years"]),
                   provisional_years=frozenset(provisional))

    def covers(self, day: date) -> bool:
        return day.year in self.years

    def is_working_day(self, day: date) -> bool:
        if day in self.working_weekends:
            return True
        if day in self.days_off:
            return False
        # Outside the years listed, the week alone decides: better than refusing service.
        return day.weekday() < 5

    def is_business_time(self, moment: datetime, hours: BusinessHours | None = None) -> bool:
        """Whether live agents answer at ``moment`` (timezone-aware; naive means in the hours' zone)."""
        hours = hours or BusinessHours()
        zone = ZoneInfo(hours.timezone)
        local = moment.astimezone(zone) if moment.tzinfo else moment.replace(tzinfo=zone)
        if hours.days == "working_days" and not self.is_working_day(local.date()):
            return False
        return hours.open <= local.time() < hours.close


    def next_opening(self, moment: datetime, hours: BusinessHours | None = None) -> datetime:
        """When agents are next there: ``moment`` itself in business time, else the next opening (a
        callback request left at 21:00 on the eve of 国庆 is due on the first working morning after)."""
        hours = hours or BusinessHours()
        if self.is_business_time(moment, hours):
            return moment
        zone = ZoneInfo(hours.timezone)
        local = moment.astimezone(zone)
        for ahead in range(0, 60):
            day = local.date() + timedelta(days=ahead)
            opening = datetime.combine(day, hours.open, tzinfo=zone)
            if opening > local and (hours.days == "every_day" or self.is_working_day(day)):
                return opening.astimezone(moment.tzinfo or zone)
        raise CalendarError(f"{self.name}: no opening within 60 days of {moment:%Y-%m-%d}")


def load_calendar(name: str, folder: Path = DEFAULT_HOLIDAYS.parent) -> HolidayCalendar:
    return HolidayCalendar.load(folder / f"{name}.yaml")


def is_business_time(moment: datetime, hours: BusinessHours | None = None,
                     calendar: HolidayCalendar | None = None) -> bool:
    return (calendar or HolidayCalendar.load()).is_business_time(moment, hours)
