"""Conformance: cases and suites, the protocol, transports, the runner and its oracles."""
