"""Mutants of the reference implementation (see README.md); each module has a `factory`."""
