"""zbudspec: specify, prove and conformance-test zbud under zswap."""

__version__ = "0.1.0"
