"""Example keybroker plugin: connectors to an HTTP service protected by basic auth."""
