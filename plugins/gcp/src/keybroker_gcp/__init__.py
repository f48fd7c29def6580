"""The ``gcp`` connector type for keybroker: five auth methods, four resource types."""
