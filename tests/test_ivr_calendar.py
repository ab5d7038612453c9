"""The holiday calendar (2026 official schedule with 调休, 2027 provisional) and business hours."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr.flows.calendar import BusinessHours, HolidayCalendar, is_business_time

CAL = HolidayCalendar.load()
SHANGHAI = ZoneInfo("Asia/Shanghai")

OFF_2026 = [("元旦", date(2026, 1, 1), 3), ("春节", date(2026, 2, 15), 9), ("清明节", date(2026, 4, 4), 3),
            ("劳动节", date(2026, 5, 1), 5), ("端午节", date(2026, 6, 19), 3), ("中秋节", date(2026, 9, 25), 3),
            ("国庆节", date(2026, 10, 1), 7)]


@pytest.mark.parametrize(("name", "first", "days"), OFF_2026)
def test_given_a_2026_holiday_when_asking_then_each_day_off_and_the_day_after_open(name: str, first: date,
                                                                                   days: int) -> None:
    for n in range(days):
        assert not CAL.is_working_day(first + timedelta(days=n)), f"{name} day {n + 1}"
    after = first + timedelta(days=days)
    assert CAL.is_working_day(after) or after.weekday() >= 5


@pytest.mark.parametrize("make_up", [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                                     date(2026, 9, 20), date(2026, 10, 10)])
def test_given_a_2026_make_up_weekend_day_when_asking_then_it_is_a_working_day(make_up: date) -> None:
    assert make_up.weekday() >= 5 and CAL.is_working_day(make_up)


def test_given_2026_when_counting_days_off_then_33_and_2027_is_marked_provisional() -> None:
    assert sum(1 for d in CAL.days_off if d.year == 2026) == 33
    assert CAL.provisional_years == {2027} and CAL.covers(date(2027, 6, 9))
    assert not CAL.is_working_day(date(2027, 2, 5))  # 除夕
    assert not CAL.is_working_day(date(2027, 10, 1))


def test_given_an_ordinary_week_when_asking_then_weekdays_work_and_weekends_do_not() -> None:
    assert CAL.is_working_day(date(2026, 11, 23)) and not CAL.is_working_day(date(2026, 11, 22))
    assert CAL.is_working_day(date(2030, 3, 4))  # beyond the file: the week decides


@pytest.mark.parametrize(("local", "open_"), [
    (time(7, 59), False), (time(8, 0), True), (time(12, 0), True), (time(19, 59), True), (time(20, 0), False)])
def test_given_a_working_day_when_checking_hours_then_8_to_20_shanghai(local: time, open_: bool) -> None:
    moment = datetime.combine(date(2026, 11, 23), local, tzinfo=SHANGHAI).astimezone(UTC)
    assert CAL.is_business_time(moment) is open_


def test_given_a_holiday_in_business_hours_when_checking_then_closed_unless_every_day() -> None:
    moment = datetime(2026, 10, 2, 10, 0, tzinfo=SHANGHAI)
    assert not is_business_time(moment, calendar=CAL)
    assert CAL.is_business_time(moment, BusinessHours(days="every_day"))


def test_given_other_hours_when_checking_then_they_apply() -> None:
    hours = BusinessHours(open=time(9, 0), close=time(17, 30))
    assert not CAL.is_business_time(datetime(2026, 11, 23, 8, 30, tzinfo=SHANGHAI), hours)
    assert CAL.is_business_time(datetime(2026, 11, 23, 17, 29, tzinfo=SHANGHAI), hours)


def test_given_times_outside_business_hours_when_asking_the_next_opening_then_holidays_are_skipped() -> None:
    cal, shanghai = HolidayCalendar.load(), ZoneInfo("Asia/Shanghai")
    inside = datetime(2026, 11, 23, 10, 0, tzinfo=shanghai)
    assert cal.next_opening(inside) == inside
    evening = datetime(2026, 11, 23, 21, 0, tzinfo=shanghai)  # a Monday night
    assert cal.next_opening(evening) == datetime(2026, 11, 24, 8, 0, tzinfo=shanghai)
    early = datetime(2026, 11, 24, 6, 30, tzinfo=shanghai)
    assert cal.next_opening(early) == datetime(2026, 11, 24, 8, 0, tzinfo=shanghai)
    national_day_eve = datetime(2026, 9, 30, 22, 0, tzinfo=shanghai)
    assert cal.next_opening(national_day_eve) == datetime(2026, 10, 8, 8, 0, tzinfo=shanghai)
    assert cal.next_opening(national_day_eve.astimezone(UTC)).tzinfo == UTC
