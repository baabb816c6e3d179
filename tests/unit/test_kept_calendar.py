"""The calendar a circulation process keeps is answered only for the very head it was
folded from, over the very config it was laid on."""

from services.circulation.calendar import EMPTY, KeptCalendar
from shared.runtime.school_calendar import SchoolCalendar


def test_the_kept_calendar_is_answered_only_for_its_head_and_config():
    config, other_config = SchoolCalendar(), SchoolCalendar()
    school = SchoolCalendar(weekends_closed=False)
    kept = KeptCalendar()
    assert kept.get(EMPTY, config) is None  # nothing kept yet
    kept.put((3, "e3"), config, school)
    assert kept.get((3, "e3"), config) is school
    assert kept.get((4, "e4"), config) is None  # someone appended since
    assert kept.get((3, "restored"), config) is None  # the same version, another event
    assert kept.get(None, config) is None  # the head was not read
    assert kept.get((3, "e3"), other_config) is None  # another service's config, equal or not
