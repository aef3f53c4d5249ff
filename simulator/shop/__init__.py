"""The demo shop "La boutique du CD" (local only): a few CDs, a basket, and "Paiement par carte bancaire".

It is a merchant's website as the bank's documentation pictures it: it creates the order through the merchant API
(``POST /orders``), sends the buyer to the API's checkout page (the sealed form), and shows the order's
status from the API (``GET /orders/{reference}``) when the bank sends the buyer back.
"""

from .app import DemoShop, ShopService

__all__ = ["DemoShop", "ShopService"]
