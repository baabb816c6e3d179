"""Commands and queries the catalog accepts, validated at the RPC edge."""

from marshmallow import fields, validate

from shared.catalogue import fields as f
from shared.catalogue.catalog import CopyDetails

MAX_COPIES_PER_COMMAND = 500


class AddCopies(CopyDetails):
    """Catalogue ``copies`` copies of one title (one command, however many copies)."""

    command_id = fields.UUID(load_default=None)
    acquisition = f.choice(f.ACQUISITION_SOURCES, load_default="purchase", required=False)
    reference_only = fields.Boolean(load_default=False)
    copies = fields.Integer(
        load_default=1, validate=validate.Range(min=1, max=MAX_COPIES_PER_COMMAND)
    )
