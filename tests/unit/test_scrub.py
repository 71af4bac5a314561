"""Personal data scrubbing: personnummer, samordningsnummer and phone numbers out of free text.

The numbers are generated here with their own check digit, computed by a small Luhn of
the test's own (not the module's), and hidden in random text.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.core.events import parse_event
from services.core.scrub import PERSONNUMMER, PHONE, scrub, set_enabled
from tests.builders import envelope, incident_data

# Text around the numbers: letters, spaces and punctuation, no digits (a digit could
# make a number of its own).
SAFE = st.text(alphabet="abcdefghijklmnopqrstuvwxyzåäöABCÅÄÖ ,;!?()'\"", max_size=40)


def check_digit(nine: str) -> str:
    """The Luhn check digit of a personnummer's first nine digits (YYMMDDNNN), as
    Skatteverket describes it: weights 2,1,2,1,… and the digits of each product summed."""
    products = [int(d) * w for d, w in zip(nine, [2, 1] * 5, strict=False)]
    total = sum(p // 10 + p % 10 for p in products)
    return str((10 - total % 10) % 10)


def test_the_reference_luhn_agrees_with_published_examples() -> None:
    # Skatteverket's example 811218-9876 and the Wikipedia example 640823-3234.
    assert check_digit("811218987") == "6"
    assert check_digit("640823323") == "4"


@st.composite
def identity_numbers(draw: st.DrawFn, valid: bool = True) -> str:
    born = draw(st.dates(dt.date(1900, 1, 1), dt.date(2026, 12, 31)))
    day = born.day + (60 if draw(st.booleans()) else 0)  # samordningsnummer: day + 60
    nine = f"{born.year % 100:02d}{born.month:02d}{day:02d}{draw(st.integers(0, 999)):03d}"
    check = int(check_digit(nine))
    if not valid:
        check = (check + draw(st.integers(1, 9))) % 10
    if draw(st.booleans()):  # twelve digits: the century written out
        sep = "-" if not valid else draw(st.sampled_from(["-", ""]))
        return f"{born.year // 100}{nine[:6]}{sep}{nine[6:]}{check}"
    sep = "-" if not valid else draw(st.sampled_from(["-", "+", ""]))
    return f"{nine[:6]}{sep}{nine[6:]}{check}"


@given(SAFE, identity_numbers(), SAFE)
def test_any_valid_identity_number_in_text_is_replaced(before: str, pnr: str, after: str) -> None:
    assert scrub(f"{before} {pnr} {after}") == f"{before} {PERSONNUMMER} {after}"


@given(SAFE, identity_numbers(valid=False), SAFE)
def test_a_wrong_check_digit_is_not_an_identity_number(before: str, pnr: str, after: str) -> None:
    text = f"{before} {pnr} {after}"
    assert scrub(text) == text


def digits(n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789", min_size=n, max_size=n)


@st.composite
def phone_numbers(draw: st.DrawFn) -> str:
    """Swedish numbers as people write them: mobiles, Stockholm, other area codes."""
    kind = draw(st.sampled_from(["mobile", "stockholm", "area3", "area4"]))
    if kind == "mobile":
        op, a, b, c = draw(digits(1)), draw(digits(3)), draw(digits(2)), draw(digits(2))
        forms = [
            f"07{op}-{a} {b} {c}",
            f"07{op}{a}{b}{c}",
            f"07{op}-{a}{b}{c}",
            f"07{op} {a} {b} {c}",
            f"+46 7{op} {a} {b} {c}",
            f"+467{op}{a}{b}{c}",
            f"0046 7{op} {a} {b} {c}",
            f"+46 (0)7{op}-{a} {b} {c}",
        ]
    elif kind == "stockholm":
        a, b, c = draw(digits(3)), draw(digits(3)), draw(digits(2))
        forms = [f"08-{a} {b} {c}", f"08-{a}{b}{c}", f"+46 8 {a} {b} {c}", f"08 {a} {b} {c}"]
    elif kind == "area3":
        area = draw(st.integers(10, 99))
        a, b, c = draw(digits(3)), draw(digits(2)), draw(digits(2))
        forms = [f"0{area}-{a} {b} {c}", f"0{area}-{a}{b}{c}", f"+46 {area} {a} {b} {c}"]
    else:
        area = draw(st.integers(100, 999))
        a, b = draw(digits(3)), draw(digits(2))
        forms = [f"0{area}-{a} {b}", f"0{area}-{a}{b}", f"+46 {area} {a} {b}"]
    return draw(st.sampled_from(forms))


@given(SAFE, phone_numbers(), SAFE)
def test_any_swedish_phone_number_in_text_is_replaced(before: str, phone: str, after: str) -> None:
    got = scrub(f"{before} {phone} {after}")
    # Ten bare digits (0701234567) can also be a valid personnummer (born 2007-01-23):
    # then it goes as one, scrubbed all the same.
    either = {PHONE, PERSONNUMMER} if phone.isdigit() else {PHONE}
    assert got in {f"{before} {r} {after}" for r in either}


# Figures that look like the numbers but are not personal data: kept as they are.
LOOKALIKES = [
    "2022-05-04",
    "2022-05-04 08:15",
    "2022-05-04T08:15:00+02:00",
    "2022-05-04T06:15:00.123Z",
    "20220504",
    "04-05-2022",
    "08:15",
    "08:15:30",
    "04-05-2022 08:15",
    "2022-05-04 08:15:30",
    "08.15",
    "08:00-17:00",
    "kl. 08.00-17.00",
    "kl 08-17",
    "vecka 18",
    "SD-2022-004714",
    "INC-0042",
    "CHG0012345",
    "glpi-104711",
    "192.168.10.20",
    "10.0.0.1:8443",
    "fe80::1",
    "v3.12.4",
    "1.0.2003",
    "KB5034441",
    "99,95 %",
    "0,5 s",
    "1 2 3 4 5 6 7 8 9",
    "port 8443",
    "ärende 123456",
    "811218-9875",  # Skatteverket's example with the wrong check digit
    "19811218-9875",
    "811299-9876",  # no day 99 (nor 39 + 60)
    "811318-9874",  # no month 13
    "https://example.org/08123456789/x",
]


@given(st.lists(st.one_of(st.sampled_from(LOOKALIKES), SAFE), max_size=12))
def test_dates_times_ids_addresses_and_versions_are_kept(parts: list[str]) -> None:
    text = " ".join(parts)
    assert scrub(text) == text


NUMBERISH = st.lists(
    st.one_of(
        identity_numbers(),
        identity_numbers(valid=False),
        phone_numbers(),
        st.sampled_from(LOOKALIKES),
        st.text(alphabet="0123456789 -+:.()/", max_size=6),
        SAFE,
    ),
    max_size=10,
).map("".join)


@given(st.one_of(st.text(max_size=300), NUMBERISH))
def test_scrubbing_never_lengthens_and_is_idempotent(text: str) -> None:
    once = scrub(text)
    assert len(once) <= len(text)  # a title within its 300 characters stays within them
    assert scrub(once) == once


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("Ring 070-123 45 67 om det", "Ring [telnr] om det"),
        ("+46 70 123 45 67", "[telnr]"),
        ("+46701234567", "[telnr]"),
        ("0046 70 123 45 67", "[telnr]"),
        ("+46 (0)70-123 45 67", "[telnr]"),
        ("Vxl 08-123 456 78.", "Vxl [telnr]."),
        ("019-12 34 56, 0581-123 45", "[telnr], [telnr]"),
        ("Användare 811218-9876 utelåst", "Användare [personnr] utelåst"),
        ("pnr:19811218-9876", "pnr:[personnr]"),
        ("8112189876 och 198112189876", "[personnr] och [personnr]"),
        ("811218-9876,8112189876;811218-9876", "[personnr],[personnr];[personnr]"),
        ("811218+9876 (över 100 år)", "[personnr] (över 100 år)"),
        ("samordningsnr 811278-9873", "samordningsnr [personnr]"),
        ("SD-2022-004714: VPN nere 2022-05-04 08:15", "SD-2022-004714: VPN nere 2022-05-04 08:15"),
    ],
)
def test_hand_written_examples(text: str, want: str) -> None:
    assert scrub(text) == want


def test_the_samordningsnummer_example_is_valid_by_the_reference() -> None:
    assert check_digit("811278987") == "3"


def incident_opened(title: str) -> dict[str, object]:
    data = incident_data("INC-1", "m365", severity=2, impact="outage", title=title)
    return envelope("incident.opened", data, id="e-1", time="2022-05-04T08:15:00+02:00")


def test_the_contracts_scrub_titles_and_reasons_unless_turned_off() -> None:
    title = "Ring 811218-9876 på 070-123 45 67"
    event = parse_event(incident_opened(title))
    assert event.data.title == "Ring [personnr] på [telnr]"  # type: ignore[union-attr]
    freeze = {
        "freeze_id": "F-1",
        "starts_at": "2022-05-04T08:00:00+02:00",
        "ends_at": "2022-05-05T08:00:00+02:00",
        "scope": ["*"],
        "reason": "Bokslut, frågor till 08-123 456 78",
    }
    change = parse_event(
        envelope("freeze.declared", freeze, id="e-2", time="2022-05-04T08:15:00+02:00")
    )
    assert change.data.reason == "Bokslut, frågor till [telnr]"  # type: ignore[union-attr]
    set_enabled(False)
    try:
        assert parse_event(incident_opened(title)).data.title == title  # type: ignore[union-attr]
    finally:
        set_enabled(True)
