"""`highlightd demo`: the whole loop on this machine, offline, with nothing configured."""

from __future__ import annotations

from highlightd.demo.main import run_demo

__all__ = ["run_demo"]
