"""The service factory: build (`create_service`) and run (`serve`) a service the same way as
every other, what a running one holds (`ServiceRuntime`), and its clock-driven work (`Periodic`)."""

from shared.service.app import create_service, serve
from shared.service.periodic import Periodic
from shared.service.runtime import ServiceRuntime

__all__ = ["Periodic", "ServiceRuntime", "create_service", "serve"]
