"""API Gateway (REST, proxy) events in and responses out, the error answers, and the buyer's HTML pages."""
