"""HTTP adapter: the FastAPI application over the library."""

from sirena.web.app import create_app

__all__ = ["create_app"]
