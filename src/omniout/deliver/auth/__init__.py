"""Credentials for outbound endpoints, modelled on named credentials.

The config's ``credentials:`` section names credentials; an endpoint refers
to one with ``credential: NAME``. :func:`open_credentials` reads their
secrets once at start-up; the :class:`~omniout.deliver.Deliverer` applies a
credential to each request of its endpoints, over connections with the
credential's TLS settings. One module per scheme:

- ``basic``: HTTP Basic;
- ``bearer``: a static bearer token;
- ``api_key``: a key in a header field or a query parameter;
- ``oauth2``: OAuth 2.0 client credentials, tokens cached and renewed;
- ``jwt_bearer``: the OAuth 2.0 JWT bearer grant;
- ``assertion`` and ``signing_key``: signed JWT assertions, for that grant
  and for ``private_key_jwt`` client authentication;
- ``signature``: HMAC-SHA256 signatures in the Standard Webhooks scheme;
- ``tls``: client certificates, CA bundles and verification.
"""

from __future__ import annotations

from omniout.deliver.auth.api_key import ApiKey
from omniout.deliver.auth.assertion import AssertionClaims, AssertionSigner
from omniout.deliver.auth.base import Credential, HeaderCredential
from omniout.deliver.auth.basic import BasicAuth
from omniout.deliver.auth.bearer import BearerToken
from omniout.deliver.auth.jwt_bearer import OAuth2JwtBearer
from omniout.deliver.auth.oauth2 import OAuth2ClientCredentials, OAuth2Credential
from omniout.deliver.auth.secret import Secret
from omniout.deliver.auth.settings import CredentialSettings, check_references
from omniout.deliver.auth.signature import WebhookSignature
from omniout.deliver.auth.signing_key import SigningKey, load_signing_key
from omniout.deliver.auth.store import open_credentials
from omniout.deliver.auth.token import ExpiryPolicy, Token, TokenCache

__all__ = [
    "ApiKey",
    "AssertionClaims",
    "AssertionSigner",
    "BasicAuth",
    "BearerToken",
    "Credential",
    "CredentialSettings",
    "ExpiryPolicy",
    "HeaderCredential",
    "OAuth2ClientCredentials",
    "OAuth2Credential",
    "OAuth2JwtBearer",
    "Secret",
    "SigningKey",
    "Token",
    "TokenCache",
    "WebhookSignature",
    "check_references",
    "load_signing_key",
    "open_credentials",
]
