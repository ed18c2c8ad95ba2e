"""The demo behind ``make run``: a receiver that plays an order API with its
OAuth 2.0 token endpoint and a SOAP ERP, and a reader of the reply topic."""
