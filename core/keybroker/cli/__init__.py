"""The ``keybroker`` command line: parses arguments and renders results, nothing more.

Every operation is delegated to :class:`keybroker.service.ConnectorService`.
Modules here import only click at import time, so that ``--help`` stays fast.
"""
