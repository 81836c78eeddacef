"""Folionaut: a self-hosted portfolio content API."""

__version__ = "0.1.0"
