"""AIDE backend: the importable package deployed beside functions/main.py."""

__version__ = "0.1.0"
