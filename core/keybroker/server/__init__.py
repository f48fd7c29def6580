"""The keybroker team server: users, sign-in, the audit log and (next) connectors over HTTP.

Installed with the ``server`` extra. Nothing here is imported by the CLI unless a
``keybroker server`` command runs; :func:`keybroker.server.app.create_app` builds
the ASGI application.
"""
