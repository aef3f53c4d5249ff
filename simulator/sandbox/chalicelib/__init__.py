"""The sandbox bank: a test payment server speaking the CM-CIC / Monetico protocol (dev and staging only).

``terminals`` reads the bank's configuration, ``cards`` knows the test cards, ``payments`` is what the bank keeps
of a payment, ``ledger`` keeps them in DynamoDB, ``rules`` applies the bank's rules to them, ``payment`` reads the
merchant's request and builds the confirmation, ``bank`` runs the payment page, ``backoffice`` the server-to-server
CGIs, ``dashboard`` the merchant's "gestionnaire commerçant", ``pages``/``texts`` the buyer's pages, ``web`` puts it
all behind a Chalice app and ``devserver`` serves that app locally (HTTP or HTTPS).
"""
