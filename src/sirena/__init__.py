"""Sirena: an open air-raid and public-warning platform."""

__version__ = "0.1.0"
