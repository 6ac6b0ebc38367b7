"""`atlas refresh`: what GitHub, PyPI and the Hugging Face Hub say about the catalog's entries.

The run (``run.py``) asks each service (``services.py``) through one HTTP client
(``client.py``) that keeps the ETags of earlier answers (``cache.py``) and each service's
rate limits (``limits.py``); it writes ``catalog/metadata.json`` (``metadata.py``), which
the site reads through ``activity.py``; ``findings.py`` and ``report.py`` say what needs a
maintainer's attention. This package's import is light (no aiohttp): the site imports
``atlas.refresh.activity`` and ``atlas.refresh.metadata`` at build time.
"""

from __future__ import annotations

from atlas.refresh.command import register

__all__ = ["register"]
