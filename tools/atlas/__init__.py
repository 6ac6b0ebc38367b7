"""AIGC Atlas tooling: catalog validation, site generation and link checking."""

__version__ = "0.1.0"
