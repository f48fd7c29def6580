"""The client side of a keybroker team server: its HTTP client and the stored session.

Imported only by commands that talk to a server. The standard library's
``http.client`` keeps a cold command fast (about 45 ms of imports with ``ssl``,
against 90 to 110 ms for requests or httpx) and reads no netrc file; https
follows the project's proxy rule (:mod:`keybroker.proxies`).
"""
