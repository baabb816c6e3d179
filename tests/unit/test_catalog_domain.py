"""The copy Decider: every rule and every refusal, without any server."""

import pytest

from services.catalog import domain
from services.catalog.domain import (
    AddCopy,
    MarkDamaged,
    Receive,
    Repair,
    SetReferenceOnly,
    TakenBack,
    Transfer,
    Weed,
    decide,
    evolve,
)
from shared.errors import NotFound
from shared.events import CATALOGUE
from shared.eventsourcing.decider import Event, Refused, fold
from shared.eventsourcing.memory_store import InMemoryEventStore
from shared.eventsourcing.unit_of_work import UnitOfWork
from tests.factories import book_added

BARCODE = "C00000042"
DETAILS = {k: v for k, v in book_added(BARCODE).items() if k != "barcode"}


def given(*commands):
    """The copy after a librarian's commands, each decided on the state before it."""
    state = domain.INITIAL
    for command in (AddCopy(BARCODE, DETAILS), *commands):
        state = fold(evolve, state, decide(state, command))
    return state


def refusal(state, command):
    with pytest.raises(Refused) as refused:
        decide(state, command)
    return refused.value


def only(events):
    (event,) = events
    CATALOGUE.validate(event.type, dict(event.data))  # what the store would check
    return event


# Adding


def test_adding_a_copy_records_book_added_with_its_barcode_and_details():
    event = only(decide(domain.INITIAL, AddCopy(BARCODE, DETAILS)))
    assert event == Event("BookAdded", {"barcode": BARCODE, **DETAILS})


def test_a_new_copy_is_on_the_shelf_where_it_was_catalogued():
    copy = given()
    assert (copy.status, copy.campus, copy.shelf) == ("on_shelf", "north", "N-I-03")
    assert (copy.price, copy.classification, copy.reference_only) == ("59.70", "I242.4", False)


def test_a_barcode_cannot_be_catalogued_twice():
    refused = refusal(given(), AddCopy(BARCODE, DETAILS))
    assert str(refused) == "Copy C00000042 is already catalogued."
    assert refused.code == "copy_exists"


# Damage and repair


def test_marking_a_copy_damaged_takes_it_off_the_shelf():
    event = only(decide(given(), MarkDamaged(BARCODE, "torn spine")))
    assert event == Event("CopyDamaged", {"barcode": BARCODE, "note": "torn spine"})
    assert evolve(given(), event).status == "damaged"


def test_a_copy_returned_damaged_names_the_loan():
    event = only(decide(given(), MarkDamaged(BARCODE, "returned damaged", loan_id="L-7")))
    assert event.data == {"barcode": BARCODE, "note": "returned damaged", "loan_id": "L-7"}


def test_a_damaged_copy_cannot_be_marked_damaged_again():
    refused = refusal(given(MarkDamaged(BARCODE)), MarkDamaged(BARCODE))
    assert str(refused) == "Copy C00000042 is already marked damaged; repair it or weed it."
    assert refused.code == "copy_already_damaged"


def test_repairing_a_damaged_copy_puts_it_back_on_the_shelf():
    damaged = given(MarkDamaged(BARCODE))
    event = only(decide(damaged, Repair(BARCODE, "rebound")))
    assert event == Event("Repaired", {"barcode": BARCODE, "note": "rebound"})
    assert evolve(damaged, event).status == "on_shelf"


def test_a_copy_that_is_not_damaged_cannot_be_repaired():
    refused = refusal(given(), Repair(BARCODE))
    assert str(refused) == "Copy C00000042 is not marked damaged, so there is nothing to repair."
    assert refused.code == "copy_not_damaged"


# Weeding


@pytest.mark.parametrize("reason", ["outdated", "damaged_beyond_repair", "lost", "duplicate"])
def test_weeding_writes_the_copy_off_at_its_price_and_classification(reason):
    event = only(decide(given(), Weed(BARCODE, reason, "stocktake 2026")))
    assert event == Event(
        "Weeded",
        {
            "barcode": BARCODE,
            "reason": reason,
            "value": "59.70",
            "classification": "I242.4",
            "note": "stocktake 2026",
        },
    )
    copy = evolve(given(), event)
    assert (copy.status, copy.weed_reason) == ("weeded", reason)


def test_a_damaged_copy_can_be_weeded_as_beyond_repair():
    event = only(decide(given(MarkDamaged(BARCODE)), Weed(BARCODE, "damaged_beyond_repair")))
    assert event.type == "Weeded"


def test_a_copy_cannot_be_weeded_twice():
    refused = refusal(given(Weed(BARCODE, "outdated")), Weed(BARCODE, "duplicate"))
    assert (
        str(refused) == "Copy C00000042 was weeded (outdated) already; it cannot be weeded twice."
    )
    assert refused.code == "copy_already_weeded"


def test_a_copy_out_on_loan_cannot_be_weeded():
    refused = refusal(given(), Weed(BARCODE, "outdated", on_loan=True))
    assert str(refused) == (
        "Copy C00000042 is out on loan; weed it once it has been returned, "
        "or when it is declared lost."
    )
    assert refused.code == "copy_on_loan"


def test_a_copy_out_on_loan_can_be_weeded_as_lost():
    event = only(decide(given(), Weed(BARCODE, "lost", on_loan=True)))
    assert event.data["reason"] == "lost"


def test_a_weeded_copy_cannot_be_marked_damaged():
    refused = refusal(given(Weed(BARCODE, "lost")), MarkDamaged(BARCODE))
    assert (
        str(refused) == "Copy C00000042 was weeded (lost); a weeded copy cannot be marked damaged."
    )
    assert refused.code == "copy_weeded"


@pytest.mark.parametrize(
    ("command", "doing"),
    [
        (Repair(BARCODE), "repaired"),
        (Transfer(BARCODE, "south", "S-I-01"), "transferred"),
        (SetReferenceOnly(BARCODE, True), "made reference-only or lendable"),
    ],
)
def test_a_weeded_copy_cannot_be_changed_any_more(command, doing):
    refused = refusal(given(MarkDamaged(BARCODE), Weed(BARCODE, "duplicate")), command)
    assert (
        str(refused) == f"Copy C00000042 was weeded (duplicate); a weeded copy cannot be {doing}."
    )
    assert refused.code == "copy_weeded"


# Transfer


def valid(events):
    for event in events:
        CATALOGUE.validate(event.type, dict(event.data))  # what the store would check
    return events


def sent_south():
    """A north copy a librarian transferred to south, not yet received there."""
    return given(Transfer(BARCODE, "south", "S-I-01"))


def test_transferring_makes_the_copy_the_other_campuss_and_puts_it_in_transit_there():
    events = valid(decide(given(), Transfer(BARCODE, "south", "S-I-01")))
    assert events == [
        Event(
            "Transferred",
            {"barcode": BARCODE, "from_campus": "north", "to_campus": "south", "shelf": "S-I-01"},
        ),
        Event("TransitStarted", {"barcode": BARCODE, "from_campus": "north", "to_campus": "south"}),
    ]
    copy = fold(evolve, given(), events)
    assert (copy.campus, copy.shelf, copy.status) == ("south", "S-I-01", "on_shelf")
    assert (copy.in_transit, copy.transit_from, copy.where) == (True, "north", "north")


def test_a_transferred_copy_is_received_at_its_new_campus_and_is_there():
    event = only(decide(sent_south(), Receive(BARCODE, "south")))
    assert event == Event(
        "ArrivedHome", {"barcode": BARCODE, "campus": "south", "from_campus": "north"}
    )
    copy = evolve(sent_south(), event)
    assert (copy.campus, copy.shelf, copy.in_transit, copy.where) == (
        "south",
        "S-I-01",
        False,
        "south",
    )


def test_a_transferred_copy_is_not_received_at_the_campus_it_left():
    refused = refusal(sent_south(), Receive(BARCODE, "north"))
    assert refused.code == "not_home_campus"
    assert str(refused) == (
        "Copy C00000042 belongs to the south campus and is on its way there from north; "
        "receive it at the south desk, or transfer it to north to keep it here."
    )


def test_a_copy_on_its_way_to_its_new_campus_can_be_kept_where_it_is():
    """Sent by mistake: transferred back before it left, it stays and nothing travels."""
    event = only(decide(sent_south(), Transfer(BARCODE, "north", "N-I-03")))
    assert event.data == {
        "barcode": BARCODE,
        "from_campus": "south",
        "to_campus": "north",
        "shelf": "N-I-03",
    }
    copy = evolve(sent_south(), event)
    assert (copy.campus, copy.shelf, copy.in_transit) == ("north", "N-I-03", False)


def test_a_copy_on_its_way_to_its_new_campus_is_not_sent_there_twice():
    refused = refusal(sent_south(), Transfer(BARCODE, "south", "S-I-02"))
    assert refused.code == "copy_in_transit"
    assert "on its way home to the south campus from north; receive it" in str(refused)


def test_a_damaged_copy_can_be_transferred_and_stays_damaged():
    damaged = given(MarkDamaged(BARCODE))
    copy = fold(evolve, damaged, decide(damaged, Transfer(BARCODE, "south", "S-REPAIR")))
    assert (copy.campus, copy.status, copy.transit_from) == ("south", "damaged", "north")


def test_a_copy_cannot_be_transferred_to_the_campus_it_is_at():
    refused = refusal(given(), Transfer(BARCODE, "north", "N-I-04"))
    assert str(refused) == "Copy C00000042 is already at the north campus."
    assert refused.code == "same_campus"


def test_a_copy_out_on_loan_cannot_be_transferred():
    refused = refusal(given(), Transfer(BARCODE, "south", "S-I-01", on_loan=True))
    assert str(refused) == "Copy C00000042 is out on loan; transfer it once it has been returned."
    assert refused.code == "copy_on_loan"


# Reference-only


def test_a_copy_can_be_made_reference_only_and_lendable_again():
    event = only(decide(given(), SetReferenceOnly(BARCODE, True)))
    assert event == Event("ReferenceStatusChanged", {"barcode": BARCODE, "reference_only": True})
    reference = evolve(given(), event)
    assert reference.reference_only is True
    back = only(decide(reference, SetReferenceOnly(BARCODE, False)))
    assert evolve(reference, back).reference_only is False


def test_a_reference_only_copy_cannot_be_made_reference_only_again():
    refused = refusal(given(SetReferenceOnly(BARCODE, True)), SetReferenceOnly(BARCODE, True))
    assert str(refused) == "Copy C00000042 is already reference-only."
    assert refused.code == "reference_unchanged"


def test_a_lendable_copy_cannot_be_made_lendable_again():
    refused = refusal(given(), SetReferenceOnly(BARCODE, False))
    assert str(refused) == "Copy C00000042 is already lendable (not reference-only)."
    assert refused.code == "reference_unchanged"


# Returned at the other campus: in transit home


def returned_at_south():
    """A north copy a reader brought back to the south desk."""
    return given(TakenBack(BARCODE, "south", "L1", "2026-10-28"))


def test_a_copy_taken_back_at_its_home_campus_changes_nothing():
    assert decide(given(), TakenBack(BARCODE, "north", "L1", "2026-10-28")) == []


def test_a_copy_taken_back_at_the_other_campus_goes_into_transit_home():
    event = only(decide(given(), TakenBack(BARCODE, "south", "L1", "2026-10-28")))
    assert event == Event(
        "TransitStarted",
        {
            "barcode": BARCODE,
            "from_campus": "south",
            "to_campus": "north",
            "loan_id": "L1",
            "returned_on": "2026-10-28",
        },
    )
    copy = returned_at_south()
    assert (copy.campus, copy.status, copy.transit_from, copy.in_transit) == (
        "north",
        "on_shelf",
        "south",
        True,
    )
    assert decide(copy, TakenBack(BARCODE, "south")) == []  # the same news again


def test_receiving_it_at_home_ends_the_transit():
    event = only(decide(returned_at_south(), Receive(BARCODE, "north")))
    assert event == Event(
        "ArrivedHome", {"barcode": BARCODE, "campus": "north", "from_campus": "south"}
    )
    copy = evolve(returned_at_south(), event)
    assert (copy.campus, copy.status, copy.in_transit) == ("north", "on_shelf", False)


def test_a_copy_is_received_only_at_its_home_campus_and_only_in_transit():
    elsewhere = refusal(returned_at_south(), Receive(BARCODE, "south"))
    assert elsewhere.code == "not_home_campus"
    assert str(elsewhere) == (
        "Copy C00000042 belongs to the north campus and is on its way there from south; "
        "receive it at the north desk, or transfer it to south to keep it here."
    )
    home = refusal(given(), Receive(BARCODE, "north"))
    assert home.code == "not_in_transit"
    assert str(home) == "Copy C00000042 is not in transit; it belongs to the north campus."


def test_transferring_a_copy_in_transit_to_where_it_is_makes_that_its_home():
    event = only(decide(returned_at_south(), Transfer(BARCODE, "south", "S-I-01")))
    assert event.data == {
        "barcode": BARCODE,
        "from_campus": "north",
        "to_campus": "south",
        "shelf": "S-I-01",
    }
    copy = evolve(returned_at_south(), event)
    assert (copy.campus, copy.shelf, copy.in_transit) == ("south", "S-I-01", False)


def test_a_copy_in_transit_is_received_home_not_transferred_there():
    refused = refusal(returned_at_south(), Transfer(BARCODE, "north", "N-I-03"))
    assert refused.code == "copy_in_transit"
    assert "on its way home to the north campus from south; receive it" in str(refused)


def test_a_copy_returned_damaged_at_the_other_campus_is_both_damaged_and_in_transit():
    copy = given(MarkDamaged(BARCODE, loan_id="L1"), TakenBack(BARCODE, "south", "L1"))
    assert (copy.status, copy.transit_from) == ("damaged", "south")


def test_weeding_a_copy_in_transit_ends_the_transit():
    copy = given(TakenBack(BARCODE, "south"), Weed(BARCODE, "lost", "lost on the way"))
    assert (copy.status, copy.in_transit) == ("weeded", False)
    assert refusal(copy, Receive(BARCODE, "north")).code == "copy_weeded"


# Unknown copies and the shape of the Decider


@pytest.mark.parametrize(
    "command",
    [
        MarkDamaged("C99999999"),
        Repair("C99999999"),
        Weed("C99999999", "lost"),
        Transfer("C99999999", "south", "S-1"),
        SetReferenceOnly("C99999999", True),
        TakenBack("C99999999", "south"),
        Receive("C99999999", "north"),
    ],
)
def test_any_command_on_an_unknown_barcode_is_not_found(command):
    uow = UnitOfWork(InMemoryEventStore("catalog"), None, "c1", None)
    with pytest.raises(NotFound, match="^No copy has barcode C99999999.$"):
        uow.execute(domain.COPY, command.barcode, command)


def test_an_unknown_command_fails_loudly():
    with pytest.raises(AssertionError):
        decide(given(), object())


def test_an_event_that_does_not_belong_to_a_copy_fails_loudly():
    with pytest.raises(ValueError, match="cannot hold a Lent event"):
        evolve(given(), Event("Lent", {}))


def test_the_whole_life_of_a_copy_folds_from_its_events():
    copy = given(
        MarkDamaged(BARCODE),
        Repair(BARCODE),
        Transfer(BARCODE, "south", "S-I-01"),
        Receive(BARCODE, "south"),
        SetReferenceOnly(BARCODE, True),
        Weed(BARCODE, "outdated"),
    )
    assert (copy.status, copy.campus, copy.shelf, copy.reference_only, copy.weed_reason) == (
        "weeded",
        "south",
        "S-I-01",
        True,
        "outdated",
    )
