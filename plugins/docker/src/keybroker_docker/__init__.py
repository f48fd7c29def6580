"""The ``docker`` connector type for keybroker, and docker logins that stay fresh."""
