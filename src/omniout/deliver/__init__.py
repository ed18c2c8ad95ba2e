"""HTTP delivery: one request, its answer, and the retries in between.

``Deliverer`` owns the pooled client; ``RetryPolicy`` and ``classify`` decide
what is tried again and when; ``OutboundRequest`` and ``Response`` are the
values that cross the boundary. Failures surface as
``omniout.errors.DeliveryError``.
"""

from __future__ import annotations

from omniout.deliver.client import CertFiles, Deliverer
from omniout.deliver.policy import (
    DEFAULT_RETRY_STATUSES,
    Classified,
    ResponseClassifier,
    RetryPolicy,
    Verdict,
    backoff_delay,
    classify,
    parse_retry_after,
)
from omniout.deliver.request import OutboundRequest, Response
from omniout.deliver.retry import (
    AttemptHook,
    AttemptInfo,
    Clock,
    DeliveryResult,
    SendFn,
    SleepFn,
    deliver_with_retries,
)

__all__ = [
    "DEFAULT_RETRY_STATUSES",
    "AttemptHook",
    "AttemptInfo",
    "CertFiles",
    "Classified",
    "Clock",
    "Deliverer",
    "DeliveryResult",
    "OutboundRequest",
    "Response",
    "ResponseClassifier",
    "RetryPolicy",
    "SendFn",
    "SleepFn",
    "Verdict",
    "backoff_delay",
    "classify",
    "deliver_with_retries",
    "parse_retry_after",
]
