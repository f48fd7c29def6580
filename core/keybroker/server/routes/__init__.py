"""The server's routers, one module per resource; :mod:`.api` mounts them under ``/api/v1``."""
