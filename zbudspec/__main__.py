"""`python -m zbudspec`."""

from zbudspec.cli import entry

entry()
