"""The merchant's console: pages rendered on the server for the shop's staff (orders, actions, books, terminals).

One function serves it (``functions/console``): ``http`` reads API Gateway's event and writes its answer with the
console's security headers, ``routing`` finds the view of a request and checks the signed-in user's role and the
form's CSRF token before the view runs, ``sessions`` keeps who is signed in, ``i18n`` the French and English texts,
``rendering`` the autoescaped Jinja2 templates. The views (``console.views``) call the orders layer's use cases,
the same ones the API's routes call.
"""
