"""The ``aws`` connector type for keybroker: six auth methods, four resource types."""
