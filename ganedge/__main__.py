"""``python -m ganedge`` is the ``ganedge`` command."""

from ganedge.cli import main

main()
