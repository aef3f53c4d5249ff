"""The no-Docker local stack behind ``make run`` (development only, never deployed).

An embedded moto server, the template's tables and the terminal secret, and the template's functions behind a
local HTTP server that turns requests into API Gateway proxy events, all on 127.0.0.1. Routes, tables and
function settings are read from template.yaml, never repeated here.

    from local import LocalConfig, LocalStack
    with LocalStack(LocalConfig(port=0, quiet=True)) as stack:
        ...  # stack.base_url, stack.aws_endpoint_url, stack.table_name("OrdersTable"), stack.invoke(...)
"""

from stacktools.template import Template, TemplateError

from .config import LocalConfig
from .stack import LocalStack, Service

__all__ = ["LocalConfig", "LocalStack", "Service", "Template", "TemplateError"]
