"""``python -m warmer``: same as the ``warmer`` console script."""

from warmer.cli import main

main()
