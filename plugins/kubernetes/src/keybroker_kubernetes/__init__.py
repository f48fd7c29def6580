"""The ``kubernetes`` connector type for keybroker, and kubectl login that stays fresh."""
