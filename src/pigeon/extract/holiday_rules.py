"""Named days: how to compute each holiday for a year, per locale.

Most holidays are calendar rules (a fixed date, the n-th weekday of a
month, an offset from Easter). Lunar and lunisolar feasts (Islamic, Hebrew,
Hindu, Chinese) come from the tables shipped with the `holidays` package;
if its private calendar API changes, those names simply stop resolving.
Business-day arithmetic uses the public `holidays.country_holidays`.
Every table is computed once per (rule, year, locale) and cached.
"""

# The holiday table keeps one holiday per line, aliases included, so a reader can scan
# it; naive datetimes are wall-clock values by design (see expr.py).
# ruff: noqa: DTZ001
from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import Any

from dateutil.easter import EASTER_ORTHODOX, easter

from pigeon.extract.expr import Ctx, Span, Yearly, day_span
from pigeon.extract.protocols import Grain

DateFn = Callable[[int], "date | tuple[date, date] | None"]
DayFn = Callable[[int], date]


# ---------------------------------------------------------------- rule kinds
def fixed(month: int, day: int) -> DayFn:
    return lambda year: date(year, month, day)


def nth_weekday(month: int, weekday: int, n: int) -> DayFn:
    """The n-th `weekday` of `month` (n = -1 for the last)."""

    def fn(year: int) -> date:
        if n > 0:
            first = date(year, month, 1)
            return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
        nxt = date(year + month // 12, month % 12 + 1, 1)
        last = nxt - timedelta(days=1)
        return last - timedelta(days=(last.weekday() - weekday) % 7 + 7 * (-n - 1))

    return fn


def weekday_before(month: int, day: int, weekday: int) -> DayFn:
    """The last `weekday` strictly before month/day ("Monday before May 25")."""

    def fn(year: int) -> date:
        anchor = date(year, month, day) - timedelta(days=1)
        return anchor - timedelta(days=(anchor.weekday() - weekday) % 7)

    return fn


def nearest_weekday(month: int, day: int) -> DayFn:
    """A fixed date moved off a weekend: Saturday to Friday, Sunday to Monday."""

    def fn(year: int) -> date:
        d = date(year, month, day)
        return d + timedelta(days={5: -1, 6: 1}.get(d.weekday(), 0))

    return fn


def monday_on_or_after(month: int, day: int) -> DayFn:
    def fn(year: int) -> date:
        d = date(year, month, day)
        return d + timedelta(days=(7 - d.weekday()) % 7)

    return fn


def after(base: DateFn, days: int) -> DateFn:
    def fn(year: int) -> date | None:
        value = base(year)
        if value is None or isinstance(value, tuple):
            return None
        return value + timedelta(days=days)

    return fn


def span_of(start: DateFn, end: DateFn) -> DateFn:
    """A multi-day holiday from `start` to `end` (exclusive)."""

    def fn(year: int) -> tuple[date, date] | None:
        a, b = start(year), end(year)
        if not isinstance(a, date) or not isinstance(b, date):
            return None
        return (a, b)

    return fn


def western_easter(days: int = 0) -> DateFn:
    return lambda year: easter(year) + timedelta(days=days)


def orthodox_easter(days: int = 0) -> DateFn:
    return lambda year: easter(year, EASTER_ORTHODOX) + timedelta(days=days)


def _calendar(name: str) -> Any:
    with contextlib.suppress(ImportError, AttributeError):
        import holidays.calendars as cals

        return getattr(cals, name)()
    return None


_ISLAMIC = _calendar("_IslamicLunar")
_HEBREW = _calendar("_HebrewLunisolar")
_HINDU = _calendar("_HinduLunisolar")
_CHINESE = _calendar("_ChineseLunisolar")


def lunar(calendar: Any, method: str, days: int = 0) -> DateFn:
    """A date from one of the `holidays` package's lunar tables."""

    def fn(year: int) -> date | None:
        if calendar is None:
            return None
        try:
            value = getattr(calendar, method)(year)
        except (AttributeError, KeyError, ValueError, TypeError):
            return None
        if isinstance(value, tuple):
            value = value[0]
        candidates = [value] if isinstance(value, date) else list(value or ())
        for item in candidates:
            d = item[0] if isinstance(item, tuple) else item
            if isinstance(d, date) and d.year == year:
                return d + timedelta(days=days)
        return None

    return fn


def hebrew(method: str, days: int = -1) -> DateFn:
    # Jewish holidays start at sundown; Duckling dates them from the eve.
    return lunar(_HEBREW, method, days)


def islamic(method: str, days: int = 0) -> DateFn:
    return lunar(_ISLAMIC, method, days)


def hindu(method: str, days: int = 0) -> DateFn:
    return lunar(_HINDU, method, days)


def us_thanksgiving(year: int) -> date:
    return nth_weekday(11, 3, 4)(year)


def _emancipation_observed(year: int) -> date:
    return nearest_weekday(4, 16)(year)


def _tax_day(year: int) -> date:
    d = date(year, 4, 15)
    while d.weekday() >= 5 or d == _emancipation_observed(year):
        d += timedelta(days=1)
    return d


def _admin_day(year: int) -> date:
    # Wednesday of the last full (Sunday-Saturday) week of April.
    last_saturday = nth_weekday(4, 5, -1)(year)
    return last_saturday - timedelta(days=3)


def _ekka_day(year: int) -> date:
    # The Wednesday of the Royal Queensland Show, which opens on August's first Friday
    # unless that falls in the first days of the month.
    friday = nth_weekday(8, 4, 1)(year)
    return friday + timedelta(days=5 if friday.day > 5 else 12)


def _super_tuesday(year: int) -> date | None:
    if year % 4:
        return None
    if year == 2008:
        return date(2008, 2, 5)
    return nth_weekday(3, 1, 1)(year)


def _mini_tuesday(year: int) -> date | None:
    return nth_weekday(2, 1, 1)(year) if year == 2004 else None


def _weekend_before(base: DateFn) -> DateFn:
    """Friday 18:00 before a Monday holiday to the Tuesday after (Duckling's long weekend)."""

    def fn(year: int) -> tuple[date, date] | None:
        monday = base(year)
        if not isinstance(monday, date):
            return None
        return (monday - timedelta(days=3), monday + timedelta(days=1))

    return fn


# ---------------------------------------------------------------- the table
# key -> (aliases, default rule, {locale: rule override or None to disable})
Rule = tuple[tuple[str, ...], DateFn | None, dict[str, DateFn | None]]

_US_ONLY: dict[str, DateFn | None] = {"*": None, "en_us": None}

HOLIDAYS: dict[str, Rule] = {
    "christmas": (("christmas", "xmas", "x-mas", "christmas day"), fixed(12, 25), {}),
    "christmas eve": (("christmas eve", "xmas eve"), fixed(12, 24), {}),
    "new year's eve": (("new year's eve", "new years eve", "nye"), fixed(12, 31), {}),
    "new year's day": (
        ("new year's day", "new years day", "new year's", "new years", "new year"),
        fixed(1, 1),
        {},
    ),
    "valentine's day": (
        ("valentine's day", "valentine day", "valentines day", "valentine's", "valentines"),
        fixed(2, 14),
        {},
    ),
    "halloween": (("halloween", "hallowe'en"), fixed(10, 31), {}),
    "thanksgiving": (
        ("thanksgiving", "thanksgiving day"),
        us_thanksgiving,
        {"en_ca": nth_weekday(10, 0, 2)},
    ),
    "black friday": (("black friday",), after(us_thanksgiving, 1), {}),
    "cyber monday": (("cyber monday",), after(us_thanksgiving, 4), {}),
    "boss's day": (
        ("boss's day", "boss's", "boss day", "bosses day", "bosses' day"),
        nearest_weekday(10, 16),
        {},
    ),
    "mlk day": (
        (
            "mlk day",
            "mlk jr. day",
            "mlk jr day",
            "martin luther king day",
            "martin luther king's day",
            "martin luther kings day",
            "martin luther king jr. day",
            "martin luther king jr day",
            "civil rights day",
        ),
        nth_weekday(1, 0, 3),
        {},
    ),
    "world vegan day": (("world vegan day",), fixed(11, 1), {}),
    "easter": (("easter", "easter sunday"), western_easter(), {}),
    "easter monday": (("easter monday", "easter mon"), western_easter(1), {}),
    "good friday": (("good friday",), western_easter(-2), {}),
    "maundy thursday": (
        (
            "maundy thursday",
            "covenant thu",
            "covenant thursday",
            "thu of mysteries",
            "thursday of mysteries",
            "holy thursday",
        ),
        western_easter(-3),
        {},
    ),
    "pentecost": (
        ("pentecost", "white sunday", "whit sunday", "whitsunday"),
        western_easter(49),
        {},
    ),
    "whit monday": (
        ("whit monday", "monday of the holy spirit", "whitmonday"),
        western_easter(50),
        {},
    ),
    "palm sunday": (("palm sunday", "branch sunday"), western_easter(-7), {}),
    "trinity sunday": (("trinity sunday",), western_easter(56), {}),
    "ash wednesday": (("ash wednesday",), western_easter(-46), {}),
    "shrove tuesday": (
        ("shrove tuesday", "pancake day", "mardi gras", "fat tuesday"),
        western_easter(-47),
        {},
    ),
    "lent": (("lent",), span_of(western_easter(-46), western_easter()), {}),
    "st patrick's day": (
        (
            "st patrick's day",
            "st. patrick's day",
            "st paddy's day",
            "saint paddy's day",
            "saint patricks day",
            "saint patrick's day",
            "st patricks day",
            "paddy's day",
            "paddys day",
            "patrick's day",
        ),
        fixed(3, 17),
        {},
    ),
    "orthodox easter": (("orthodox easter", "orthodox easter sunday"), orthodox_easter(), {}),
    "orthodox good friday": (
        ("orthodox good friday", "orthodox great friday"),
        orthodox_easter(-2),
        {},
    ),
    "clean monday": (
        ("clean monday", "orthodox shrove monday", "ash monday"),
        orthodox_easter(-48),
        {},
    ),
    "lazarus saturday": (("lazarus saturday",), orthodox_easter(-8), {}),
    "great lent": (
        ("great fast", "great lent"),
        span_of(orthodox_easter(-48), orthodox_easter(-8)),
        {},
    ),
    "chinese new year": (
        (
            "chinese new year",
            "chinese lunar new year",
            "chinese lunar new year's day",
            "chinese new year's day",
            "chinese new years",
            "lunar new year",
            "cny",
        ),
        lunar(_CHINESE, "lunar_new_year_date"),
        {},
    ),
    "yom kippur": (("yom kippur",), hebrew("yom_kippur_date"), {}),
    "shemini atzeret": (("shemini atzeret",), hebrew("sukkot_date", 6), {}),
    "simchat torah": (("simchat torah",), hebrew("sukkot_date", 7), {}),
    "tisha b'av": (("tisha b'av", "tisha bav"), hebrew("tisha_bav_date", 0), {}),
    "yom haatzmaut": (
        ("yom haatzmaut", "yom ha'atzmaut"),
        hebrew("israel_independence_date", -2),
        {},
    ),
    "lag baomer": (("lag b'omer", "lag baomer", "lag ba'omer"), hebrew("lag_baomer_date"), {}),
    "yom hashoah": (
        ("yom hashoah", "holocaust day", "holocaust remembrance day"),
        hebrew("israel_independence_date", -9),
        {},
    ),
    "rosh hashanah": (
        ("rosh hashanah", "rosh hashana", "rosh hashanna"),
        span_of(hebrew("rosh_hashanah_date"), hebrew("rosh_hashanah_date", 2)),
        {},
    ),
    "hanukkah": (
        ("chanukah", "hanukah", "hannukkah", "hanukkah", "chanukkah"),
        span_of(hebrew("hanukkah_date"), hebrew("hanukkah_date", 7)),
        {},
    ),
    "passover": (
        ("passover", "pesach"),
        span_of(hebrew("passover_date"), hebrew("passover_date", 8)),
        {},
    ),
    "sukkot": (
        ("sukkot", "succos", "feast of the ingathering", "feast of tabernacles"),
        span_of(hebrew("sukkot_date"), hebrew("sukkot_date", 8)),
        {},
    ),
    "shavuot": (
        ("shavuot", "shavuos"),
        span_of(hebrew("shavuot_date"), hebrew("shavuot_date", 2)),
        {},
    ),
    "purim": (("purim",), hebrew("purim_date"), {}),
    "shushan purim": (("shushan purim",), hebrew("purim_date", 0), {}),
    "mawlid": (
        ("mawlid", "mawlid al-nabawi", "mawlid al nabawi", "milad un nabi"),
        islamic("mawlid_dates"),
        {},
    ),
    "eid al-fitr": (
        ("eid al-fitr", "eid al fitr", "eid ul-fitr", "eid ul fitr"),
        islamic("eid_al_fitr_dates"),
        {},
    ),
    "eid al-adha": (
        (
            "eid al-adha",
            "eid al adha",
            "id ul-adha",
            "id ul adha",
            "sacrifice feast",
            "bakr id",
            "bakrid",
        ),
        islamic("eid_al_adha_dates"),
        {},
    ),
    "laylat al-qadr": (
        (
            "laylat al kadr",
            "laylat al-qadr",
            "laylat al qadr",
            "night of measures",
            "night of power",
        ),
        islamic("laylat_al_qadr_dates"),
        {},
    ),
    "islamic new year": (
        ("islamic new year", "amun jadid", "hijri new year"),
        islamic("hijri_new_year_dates"),
        {},
    ),
    "ashura": (("day of ashura", "ashura"), islamic("ashura_dates"), {}),
    "jumu'atul-wida": (
        ("jamat ul-vida", "jumu'atul-wida", "jamat ul vida"),
        islamic("jumuatul_wida_dates"),
        {},
    ),
    "isra and mi'raj": (
        (
            "isra and mi'raj",
            "the prophet's ascension",
            "the night journey",
            "ascension to heaven",
            "isra and miraj",
        ),
        islamic("isra_and_miraj_dates"),
        {},
    ),
    "ramadan": (
        ("ramadan", "ramzaan", "ramazan"),
        span_of(islamic("ramadan_beginning_dates"), islamic("eid_al_fitr_dates")),
        {},
    ),
    "hazarat ali's birthday": (("hazarat ali's birthday",), islamic("ali_birthday_dates"), {}),
    "dhanteras": (("dhanteras", "dhanatrayodashi"), hindu("diwali_india_date", -2), {}),
    "naraka chaturdashi": (
        ("kali chaudas", "choti diwali", "naraka chaturdashi"),
        hindu("diwali_india_date", -1),
        {},
    ),
    "diwali": (("diwali", "deepavali", "lakshmi puja"), hindu("diwali_india_date"), {}),
    "bhai dooj": (("bhai dooj",), hindu("diwali_india_date", 2), {}),
    "chhath": (
        ("chhath", "dala puja", "surya shashthi", "chhath puja"),
        hindu("chhath_puja_date"),
        {},
    ),
    "maha saptami": (("maha saptami",), hindu("maha_ashtami_date", -1), {}),
    "dussehra": (("dussehra", "vijayadashami"), hindu("dussehra_date", -1), {}),
    "navaratri": (
        ("navaratri", "durga puja", "navratri"),
        span_of(hindu("sharad_navratri_date", -1), hindu("dussehra_date", -1)),
        {},
    ),
    "karva chauth": (("karva chauth", "karwa chauth"), hindu("karwa_chauth_date"), {}),
    "ratha-yatra": (("ratha-yatra", "ratha yatra", "rath yatra"), hindu("rath_yatra_date"), {}),
    "raksha bandhan": (("rakhi", "raksha bandhan"), hindu("raksha_bandhan_date"), {}),
    "mahavir jayanti": (
        ("mahavir jayanti", "mahaveer janma kalyanak", "mahavir janma kalyanak"),
        hindu("mahavir_jayanti_date"),
        {},
    ),
    "maha shivaratri": (
        ("maha shivaratri", "mahashivratri", "maha shivratri"),
        hindu("maha_shivaratri_date"),
        {},
    ),
    "saraswati jayanti": (
        ("saraswati jayanti", "dayananda saraswati jayanti"),
        hindu("swami_dayanand_saraswati_jayanti_date"),
        {},
    ),
    "pongal": (
        ("pongal", "makara sankranthi", "makar sankranti", "maghi", "thai pongal"),
        hindu("pongal_date"),
        {},
    ),
    "boghi": (("bogi pandigai", "boghi", "bhogi"), hindu("pongal_date", -1), {}),
    "mattu pongal": (("maattu pongal", "mattu pongal"), hindu("pongal_date", 1), {}),
    "kaanum pongal": (("kaanum pongal", "kanni pongal"), hindu("pongal_date", 2), {}),
    "vaisakhi": (("vaisakhi", "baisakhi", "vasakhi", "vaishakhi"), hindu("vaisakhi_date"), {}),
    "onam": (("onam", "thiru onam", "thiruvonam"), hindu("onam_date", -1), {}),
    "vasant panchami": (
        ("vasant panchami", "basant panchami"),
        hindu("basant_panchami_date", 1),
        {},
    ),
    "holika dahan": (("chhoti holi", "holika dahan", "kamudu pyre"), hindu("holi_date", -1), {}),
    "janmashtami": (
        ("krishna janmashtami", "gokulashtami", "janmashtami"),
        hindu("janmashtami_date", -1),
        {},
    ),
    "holi": (("holi", "dhulandi", "phagwah"), hindu("holi_date"), {}),
    "ganesh chaturthi": (("ganesh chaturthi",), hindu("ganesh_chaturthi_date"), {}),
    "rama navami": (("rama navami", "ram navami"), hindu("ram_navami_date"), {}),
    "ugadi": (
        ("ugadi", "yugadi", "samvatsaradi", "chaitra sukladi", "chaitra sukhladi", "gudi padwa"),
        hindu("gudi_padwa_date"),
        {},
    ),
    "guru gobind singh jayanti": (
        ("guru gobind singh birthday", "guru gobind singh jayanti", "guru govind singh jayanti"),
        hindu("guru_gobind_singh_jayanti_date"),
        {},
    ),
    "rabindra jayanti": (("rabindra jayanti", "rabindranath jayanti"), fixed(5, 9), {}),
    "guru ravidass jayanti": (
        (
            "guru ravidas jayanti",
            "guru ravidass birthday",
            "guru ravidass jayanti",
            "guru ravidas birthday",
        ),
        hindu("guru_ravidas_jayanti_date"),
        {},
    ),
    "pargat diwas": (
        ("valmiki jayanti", "pargat diwas", "maharishi valmiki jayanti"),
        hindu("maharshi_valmiki_jayanti_date"),
        {},
    ),
    "vesak": (
        ("vesak", "vaisakha", "buddha day", "buddha purnima"),
        hindu("buddha_purnima_date", -1),
        {},
    ),
    "king's day": (
        ("koningsdag", "king's day"),
        lambda y: date(y, 4, 26) if date(y, 4, 27).weekday() == 6 else date(y, 4, 27),
        {},
    ),
    "earth hour": (("earth hour",), nth_weekday(3, 5, -1), {}),
    "mother's day": (
        ("mother's day", "mothers day", "mother day"),
        nth_weekday(5, 6, 2),
        {"en_gb": western_easter(-21)},
    ),
    "mothering sunday": (("mothering sunday",), western_easter(-21), {}),
    "father's day": (
        ("father's day", "fathers day", "father day"),
        nth_weekday(6, 6, 3),
        {"en_au": nth_weekday(9, 6, 1), "en_nz": nth_weekday(9, 6, 1)},
    ),
    "labor day": (("labor day",), nth_weekday(9, 0, 1), {}),
    "labor day weekend": (
        ("labor day weekend", "labor day week-end", "labour day weekend"),
        _weekend_before(nth_weekday(9, 0, 1)),
        {},
    ),
    "labour day": (
        ("labour day",),
        fixed(5, 1),
        {
            "en_au": nth_weekday(10, 0, 1),
            "en_nz": nth_weekday(10, 0, 4),
            "en_ie": nth_weekday(5, 0, 1),
            "en_jm": fixed(5, 23),
            "en_tt": fixed(6, 19),
            "en_ca": nth_weekday(9, 0, 1),
            "en_us": nth_weekday(9, 0, 1),
        },
    ),
    "memorial day": (
        ("memorial day", "decoration day"),
        nth_weekday(5, 0, -1),
        {"en_ca": fixed(7, 1)},
    ),
    "memorial day weekend": (
        ("memorial day week-end", "memorial day weekend"),
        _weekend_before(nth_weekday(5, 0, -1)),
        {},
    ),
    "independence day": (
        ("independence day",),
        fixed(7, 4),
        {"en_in": fixed(8, 15), "en_ph": fixed(6, 12)},
    ),
    "veterans day": (("veterans day", "veteran day", "veterans' day"), fixed(11, 11), {}),
    "loyalty day": (("law day", "lei day", "loyalty day"), fixed(5, 1), {}),
    "presidents day": (
        (
            "george washington day",
            "washington's birthday",
            "presidents' day",
            "presidents day",
            "president's day",
            "president day",
            "daisy gatson bates day",
        ),
        nth_weekday(2, 0, 3),
        {},
    ),
    "lincoln's birthday": (
        (
            "lincolns birthday",
            "abraham lincoln's birthday",
            "lincoln birthday",
            "lincolns' birthday",
            "lincoln's birthday",
        ),
        fixed(2, 12),
        {},
    ),
    "grandparents day": (
        ("national grandparents day", "grandparents day"),
        after(nth_weekday(9, 0, 1), 6),
        {},
    ),
    "military spouse day": (("military spouse day",), after(nth_weekday(5, 6, 2), -2), {}),
    "groundhog day": (("groundhog day", "groundhogs day"), fixed(2, 2), {}),
    "emancipation day": (("emancipation day",), _emancipation_observed, {}),
    "tax day": (("tax day",), _tax_day, {}),
    "siblings day": (("siblings day", "national sibling day", "sibling day"), fixed(4, 10), {}),
    "admin day": (
        (
            "administrative professionals' day",
            "administrative professionals day",
            "administrative professional day",
            "administrative professional's day",
            "secretaries' day",
            "secretaries day",
            "admins day",
            "admin day",
        ),
        _admin_day,
        {
            "en_au": nth_weekday(5, 4, 1),
            "en_nz": after(nth_weekday(4, 5, -1), -10),
            "en_za": nth_weekday(9, 2, 1),
        },
    ),
    "emsc day": (("emsc day",), after(nth_weekday(5, 6, 3), 3), {}),
    "ems week": (("ems week",), span_of(nth_weekday(5, 6, 3), after(nth_weekday(5, 6, 3), 7)), {}),
    "daylight saving start": (
        (
            "daylight saving start",
            "daylight savings start",
            "daylight saving start day",
            "daylight savings start day",
        ),
        nth_weekday(3, 6, 2),
        {},
    ),
    "daylight saving end": (
        (
            "daylight saving end",
            "daylight savings end",
            "daylight saving end day",
            "daylight savings end day",
        ),
        nth_weekday(11, 6, 1),
        {},
    ),
    "super tuesday": (
        (
            "super tuesday",
            "super tue",
            "super tue.",
            "giga tuesday",
            "mega giga tuesday",
            "tsunami tuesday",
            "super duper tuesday",
        ),
        _super_tuesday,
        {},
    ),
    "mini-tuesday": (("mini-tuesday", "mini - tuesday", "mini tuesday"), _mini_tuesday, {}),
    "canada day": (("canada day", "dominion day"), fixed(7, 1), {}),
    "vimy ridge day": (("vimy ridge day",), fixed(4, 9), {}),
    "the twelfth": (("the glorious twelfth", "orangemen's day", "the twelfth"), fixed(7, 12), {}),
    "discovery day": (("discovery day",), nth_weekday(6, 0, 4), {}),
    "victoria day": (
        ("victoria day", "sovereign's birthday", "national patriots' day", "national patriots day"),
        weekday_before(5, 25, 0),
        {},
    ),
    "civic holiday": (
        (
            "civic holiday",
            "british columbia day",
            "natal day",
            "new brunswick day",
            "saskatchewan day",
            "terry fox day",
        ),
        nth_weekday(8, 0, 1),
        {},
    ),
    "family day": (
        ("family day", "islander day", "louis riel day", "nova scotia heritage day"),
        nth_weekday(2, 0, 3),
        {},
    ),
    "guy fawkes day": (("guy fawkes day", "guy fawkes night", "bonfire night"), fixed(11, 5), {}),
    "august bank holiday": (
        ("august bank holiday", "summer bank holiday", "late summer bank holiday"),
        nth_weekday(8, 0, -1),
        {"en_ie": nth_weekday(8, 0, 1)},
    ),
    "shivaji jayanti": (("shivaji jayanti",), fixed(2, 19), {}),
    "anzac day": (("anzac day",), fixed(4, 25), {}),
    "australia day": (("australia day",), fixed(1, 26), {}),
    "waitangi day": (("waitangi day",), fixed(2, 6), {}),
    "remembrance day": (("remembrance day", "armistice day"), fixed(11, 11), {}),
    "juneteenth": (("juneteenth",), fixed(6, 19), {}),
    "king's birthday": (
        ("king's birthday", "kings birthday", "queen's birthday", "queens birthday"),
        nth_weekday(6, 0, 2),
        {"en_nz": nth_weekday(6, 0, 1)},
    ),
    "st andrew's day": (
        ("st andrew's day", "st andrews day", "st. andrew's day"),
        fixed(11, 30),
        {},
    ),
    "st george's day": (
        ("st george's day", "st georges day", "st. george's day"),
        fixed(4, 23),
        {},
    ),
    "st david's day": (("st david's day", "st davids day", "st. david's day"), fixed(3, 1), {}),
    "burns night": (("burns night",), fixed(1, 25), {}),
    "remembrance sunday": (("remembrance sunday",), nth_weekday(11, 6, 2), {}),
    "april fools' day": (
        ("april fools' day", "april fools day", "april fool's day"),
        fixed(4, 1),
        {},
    ),
    "youth day": (("youth day",), fixed(6, 16), {}),
    "human rights day": (("human rights day",), fixed(3, 21), {}),
    "melbourne cup day": (
        ("melbourne cup day", "melbourne cup", "cup day"),
        nth_weekday(11, 1, 1),
        {},
    ),
    "reconciliation day": (
        ("reconciliation day",),
        monday_on_or_after(5, 27),
        {"en_za": fixed(12, 16)},
    ),
    "ekka day": (
        ("ekka day", "rna show day", "royal queensland show day"),
        _ekka_day,
        {},
    ),
    "garifuna settlement day": (("garifuna settlement day",), fixed(11, 19), {}),
    "heroes' day": (
        ("heroes' day", "heroes day", "kruger day"),
        nth_weekday(10, 0, 3),
        {"en_za": fixed(10, 10)},
    ),
    "national heroes' day": (
        ("national heroes' day", "national heroes day"),
        nth_weekday(8, 0, -1),
        {},
    ),
    "rizal day": (("rizal day",), fixed(12, 30), {}),
    "indian arrival day": (("indian arrival day",), fixed(5, 30), {}),
    "hosay": (("hosay",), islamic("ashura_dates"), {}),
    "day of reconciliation": (
        ("day of the vow", "day of reconciliation", "day of the covenant"),
        fixed(12, 16),
        {},
    ),
    # Public holidays of the countries pigeon's users write from.
    "boxing day": (("boxing day", "st stephen's day", "st stephens day"), fixed(12, 26), {}),
    "early may bank holiday": (
        ("early may bank holiday", "may bank holiday", "may day bank holiday"),
        nth_weekday(5, 0, 1),
        {},
    ),
    "spring bank holiday": (("spring bank holiday",), nth_weekday(5, 0, -1), {}),
    "october bank holiday": (("october bank holiday",), nth_weekday(10, 0, -1), {}),
    "freedom day": (("freedom day",), fixed(4, 27), {}),
    "heritage day": (("heritage day", "braai day"), fixed(9, 24), {}),
    "republic day": (("republic day",), fixed(1, 26), {}),
    "gandhi jayanti": (("gandhi jayanti", "gandhi jayanthi"), fixed(10, 2), {}),
    "marine day": (("marine day", "umi no hi", "sea day"), nth_weekday(7, 0, 3), {}),
    "golden week": (("golden week",), span_of(fixed(4, 29), fixed(5, 6)), {}),
    "singapore national day": (("national day",), fixed(8, 9), {}),
    "matariki": (("matariki",), lambda year: _named_public_holiday("NZ", "Matariki", year), {}),
    "national arbor week": (
        ("national arbor week", "arbor week"),
        span_of(fixed(9, 1), fixed(9, 8)),
        {},
    ),
}

HOLIDAY_ALIASES: dict[str, str] = {
    alias: key for key, (aliases, _, _) in HOLIDAYS.items() for alias in aliases
}


def _locale_key(locale: str) -> str:
    return locale.lower().replace("-", "_")


@lru_cache(maxsize=8192)
def occurrences(key: str, year: int, locale: str) -> tuple[Span, ...]:
    _, default, overrides = HOLIDAYS[key]
    rule = overrides.get(_locale_key(locale), default)
    if rule is None or not 1 <= year <= 9998:
        return ()
    try:
        value = rule(year)
    except (ValueError, OverflowError):
        return ()
    if value is None:
        return ()
    if isinstance(value, tuple):
        start, end = value
        return (
            Span(
                datetime(start.year, start.month, start.day),
                datetime(end.year, end.month, end.day),
                Grain.DAY,
            ),
        )
    if key == "earth hour":
        start = datetime(value.year, value.month, value.day, 20, 30)
        return (Span(start, start + timedelta(hours=1), Grain.MINUTE),)
    if key in {"labor day weekend", "memorial day weekend"}:
        return ()
    return (day_span(value),)


def _weekend_span(key: str, year: int, locale: str) -> tuple[Span, ...]:
    _, rule, _ = HOLIDAYS[key]
    value = rule(year) if rule else None
    if not isinstance(value, tuple):
        return ()
    friday, tuesday = value
    start = datetime(friday.year, friday.month, friday.day, 18)
    return (Span(start, datetime(tuesday.year, tuesday.month, tuesday.day), Grain.HOUR),)


def holiday_expr(key: str) -> Yearly:
    if key in {"labor day weekend", "memorial day weekend"}:
        return Yearly(
            lambda year, ctx: list(_weekend_span(key, year, ctx.locale)), Grain.HOUR, "holiday"
        )

    def spans(year: int, ctx: Ctx) -> list[Span]:
        return list(occurrences(key, year, ctx.locale))

    grain = Grain.MINUTE if key == "earth hour" else Grain.DAY
    return Yearly(spans, grain, "holiday")


# ---------------------------------------------------------------- business days
_COUNTRY = {
    "en_us": "US",
    "en_gb": "GB",
    "en_ca": "CA",
    "en_au": "AU",
    "en_nz": "NZ",
    "en_ie": "IE",
    "en_in": "IN",
    "en_za": "ZA",
    "en_ph": "PH",
    "en_jm": "JM",
    "en_bz": "BZ",
    "en_tt": "TT",
}


@lru_cache(maxsize=256)
def public_holidays(country: str, year: int, subdiv: str | None = None) -> frozenset[date]:
    """Public holidays of `country` (and state) in `year`, from the `holidays` package."""
    try:
        import holidays as lib

        return frozenset(lib.country_holidays(country, subdiv=subdiv, years=year).keys())
    except (ImportError, NotImplementedError, KeyError):
        return frozenset()


def _named_public_holiday(country: str, name: str, year: int) -> date | None:
    """A public holiday the `holidays` package dates (Matariki follows the lunar calendar)."""
    try:
        import holidays as lib

        table = lib.country_holidays(country, years=year)
    except (ImportError, NotImplementedError, KeyError):
        return None
    return next((day for day, title in sorted(table.items()) if name in title), None)


# Zones that name a state or province, whose own public holidays apply there.
_SUBDIVISION = {
    "Australia/Sydney": "NSW", "Australia/Melbourne": "VIC", "Australia/Brisbane": "QLD",
    "Australia/Perth": "WA", "Australia/Adelaide": "SA", "Australia/Hobart": "TAS",
    "Australia/Darwin": "NT", "America/Toronto": "ON", "America/Vancouver": "BC",
    "America/Halifax": "NS", "America/Winnipeg": "MB", "America/Edmonton": "AB",
    "America/Regina": "SK", "America/St_Johns": "NL",
}  # fmt: skip


@lru_cache(maxsize=1)
def _zone_countries() -> dict[str, str]:
    """IANA zone -> ISO country, from the system's tz database (zone.tab)."""
    table: dict[str, str] = {}
    with (
        contextlib.suppress(OSError),
        open("/usr/share/zoneinfo/zone.tab", encoding="utf-8") as handle,
    ):
        for line in handle:
            fields = line.split("\t")
            if len(fields) >= 3 and not line.startswith("#"):
                table[fields[2].strip()] = fields[0]
    return table


def country_of(locale: str, zone: str | None = None) -> str | None:
    """The country whose public holidays apply: where the sender is (their zone), else
    their locale's."""
    if zone is not None and zone in _zone_countries():
        return _zone_countries()[zone]
    return _COUNTRY.get(_locale_key(locale))


def is_business_day(day: date, locale: str, zone: str | None = None) -> bool:
    if day.weekday() >= 5:
        return False
    country = country_of(locale, zone)
    subdiv = _SUBDIVISION.get(zone or "") if country in {"AU", "CA"} else None
    if country == "GB":
        subdiv = "ENG"  # the UK's own list leaves out England's Easter Monday and bank holidays
    return country is None or day not in public_holidays(country, day.year, subdiv)


@lru_cache(maxsize=4096)
def business_shift(start: date, count: int, locale: str, zone: str | None = None) -> date:
    """The `count`-th business day after (or before, if negative) `start`, where the sender
    is (their zone's country, else their locale's)."""
    step = 1 if count >= 0 else -1
    day, left = start, abs(count)
    while left:
        day += timedelta(days=step)
        if is_business_day(day, locale, zone):
            left -= 1
    return day
