"""The sandbox bank: a test payment server speaking the CM-CIC / Monetico protocol (dev and staging only).

``terminals`` reads the bank's configuration, ``cards`` knows the test cards, ``ledger`` keeps the payments
and applies the bank's rules, ``payment`` runs the payment page, ``backoffice`` the server-to-server CGIs,
``dashboard`` the merchant's "gestionnaire commerçant", ``web`` puts it all behind a Chalice app and
``devserver`` serves that app locally (HTTP or HTTPS).
"""
