"""What the catalog does when circulation reports on a copy it had lent.

A copy that came back damaged is taken off the shelf for repair; a copy that
came back at the other campus's desk goes into transit home; a copy declared
lost is written off with reason ``lost``; a lost copy replaced with a new copy
of its title (``LostCopyReplaced``) has the new copy catalogued in its place (same
title, campus and shelf; acquired as a ``replacement``). All are ordinary catalog
commands, decided by the same rules as a librarian's, recorded in the
consumer's transaction with ids derived from circulation's event, so a
redelivered event changes nothing twice.
"""

from __future__ import annotations

from logging import getLogger

from services.catalog import domain
from shared.errors import NotFound
from shared.events.envelope import Envelope
from shared.eventsourcing.decider import Aggregate, Refused
from shared.eventsourcing.projection import Reaction
from shared.eventsourcing.unit_of_work import UnitOfWork

_log = getLogger(__name__)


class ReturnsAndLosses(Reaction):
    """Damaged returns go for repair, returns elsewhere go home, lost copies are weeded,
    replaced ones catalogued anew."""

    name = "returns_and_losses"
    sources = ("circulation",)

    def react(self, uow: UnitOfWork, event: Envelope) -> None:
        wanted = commands_for(event) or replacement_for(uow, event)
        if not any(changes_anything(uow, command) for command in wanted):
            return  # most returns: at the copy's home desk, nothing for the catalog to do
        if uow.earlier():  # reacted to already: nothing is recorded twice
            return
        for command in wanted:
            try:
                uow.execute(aggregate_for(command), command.barcode, command)
            except Refused as refusal:
                # Already so (damaged earlier, weeded meanwhile): nothing left to record.
                _log.info(
                    "%s #%d needs no change to copy %s: %s",
                    event.type,
                    event.position,
                    command.barcode,
                    refusal,
                    extra={"correlation_id": event.correlation_id},
                )

    def streams(self, event: Envelope) -> list[tuple[Aggregate[domain.Copy], str]]:
        """The copies a loan's end calls on (a replacement's new copy is not read ahead)."""
        return [(aggregate_for(command), command.barcode) for command in commands_for(event)]


def changes_anything(uow: UnitOfWork, command: domain.Command) -> bool:
    """Whether ``command`` would record anything on its copy as it stands (refused: no)."""
    copy = uow.get(aggregate_for(command), command.barcode)
    try:
        return bool(domain.decide(copy.state, command))
    except Refused:
        return False


def aggregate_for(command: domain.Command) -> Aggregate[domain.Copy]:
    """The copy's stream as the command needs it: a copy to catalogue need not exist yet."""
    return domain.NEW_COPY if isinstance(command, domain.AddCopy) else domain.COPY


def replacement_for(uow: UnitOfWork, event: Envelope) -> list[domain.Command]:
    """For ``LostCopyReplaced``: catalogue the new copy as the lost one was (its title,
    campus, shelf and price), and write the lost one off as lost if it is not yet."""
    if event.type != "LostCopyReplaced":
        return []
    data = event.data
    try:
        lost = uow.get(domain.COPY, data["barcode"]).state
    except NotFound:
        _log.warning("lost copy %s is not in the catalogue: %s not catalogued",
                     data["barcode"], data["new_barcode"])  # fmt: skip
        return []
    details = {
        **{key: value for key, value in (lost.details or {}).items() if key != "barcode"},
        "campus": lost.campus,
        "shelf": lost.shelf,
        "reference_only": lost.reference_only,
        "acquisition": "replacement",
    }
    return [
        domain.AddCopy(data["new_barcode"], details),
        domain.Weed(
            data["barcode"],
            reason=domain.LOST,
            note=f"Lost on loan {data['loan_id']}; replaced by {data['new_barcode']}.",
            on_loan=True,
        ),
    ]


def commands_for(event: Envelope) -> list[domain.Command]:
    """The catalog commands a circulation event calls for, in order (often none)."""
    data = event.data
    match event.type:
        case "Returned":
            taken_back = domain.TakenBack(
                data["barcode"],
                campus=data["campus"],
                loan_id=data["loan_id"],
                returned_on=data["returned_on"],
            )
            if data["condition"] != "damaged":
                return [taken_back]
            damaged = domain.MarkDamaged(
                data["barcode"],
                note=f"Returned damaged at the {data['campus']} desk on {data['returned_on']} "
                f"(loan {data['loan_id']}).",
                loan_id=data["loan_id"],
            )
            return [damaged, taken_back]
        case "DeclaredLost":
            return [
                domain.Weed(
                    data["barcode"],
                    reason=domain.LOST,
                    note=f"Declared lost on loan {data['loan_id']}.",
                    on_loan=True,
                )
            ]
    return []
