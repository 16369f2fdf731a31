"""The service factory: build (`create_service`) and run (`serve`) a service the same way as
every other, and what a running one holds (`ServiceRuntime`)."""

from shared.service.app import create_service, serve
from shared.service.runtime import ServiceRuntime

__all__ = ["ServiceRuntime", "create_service", "serve"]
