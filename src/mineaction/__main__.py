"""`python -m mineaction`: the command line, for when the script is not on PATH."""

from mineaction.cli import main

main()
