"""``python -m shared.cli``: the ``library`` console without installing the script."""

from shared.cli.app import run

run()
