"""``python -m keybroker``: the same as the ``keybroker`` command."""

from keybroker.cli.main import main

raise SystemExit(main())
