"""HTTP fetching for the broker: only allowlisted hosts, with timeouts and rate-limit handling.

Every request (and every redirect it follows) must go to a host on the allowlist. Requests to one
host are spaced by that host's minimum interval (arXiv asks for 3 seconds); an answer 429 or 503
is retried after the server's ``Retry-After`` or an exponential backoff, up to a total wait.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from email.message import Message

from mlgym.specs import ServiceRequestError

USER_AGENT = "mlgym-literature-broker/0.1 (research agent benchmark; python urllib)"
RETRY_STATUSES = (429, 502, 503, 504)


@dataclass
class Response:
    url: str
    status: int
    headers: Message
    body: bytes

    @property
    def content_type(self) -> str:
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


@dataclass
class FetchPolicy:
    """Which hosts may be reached and how politely."""

    allowed_hosts: frozenset[str]
    timeout: float = 20.0
    retries: int = 3
    backoff: float = 2.0  # first wait after a 429 without Retry-After; doubles each time
    max_wait: float = 60.0  # total seconds one request may spend waiting for rate limits
    min_interval: dict[str, float] = field(default_factory=dict)
    max_bytes: int = 50 * 1024 * 1024


class Fetcher:
    """GET requests under a :class:`FetchPolicy`; failures raise :class:`ServiceRequestError`."""

    def __init__(self, policy: FetchPolicy):
        self.policy = policy
        self._next_time: dict[str, float] = {}
        self._lock = threading.Lock()
        self._opener = urllib.request.build_opener(_AllowlistRedirects(self.check_url))

    def check_url(self, url: str) -> str:
        """The host of ``url`` if it may be fetched, else a :class:`ServiceRequestError`."""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https"):
            raise ServiceRequestError(f"only http and https URLs can be fetched, not {url!r}")
        host = (parts.hostname or "").lower()
        if host not in self.policy.allowed_hosts:
            allowed = ", ".join(sorted(self.policy.allowed_hosts))
            raise ServiceRequestError(
                f"host {host!r} is not on the literature broker's allowlist ({allowed}); "
                "download the file another way or ask the operator to add the host to the "
                "`allowed_hosts` of the literature service", 403)
        return host

    def get(self, url: str, headers: dict[str, str] | None = None,
            what: str = "the server") -> Response:
        host = self.check_url(url)
        waited = 0.0
        delay = self.policy.backoff
        for attempt in range(self.policy.retries + 1):
            self._respect_interval(host)
            try:
                return self._get_once(url, headers or {})
            except urllib.error.HTTPError as exc:
                if exc.code not in RETRY_STATUSES or attempt == self.policy.retries:
                    raise _http_error(exc, what) from None
                wait = _retry_after(exc.headers, delay)
                if waited + wait > self.policy.max_wait:
                    raise _http_error(exc, what) from None
                time.sleep(wait)
                waited += wait
                delay *= 2
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                reason = getattr(exc, "reason", exc)
                if isinstance(reason, ServiceRequestError):
                    raise reason from None
                raise ServiceRequestError(f"could not reach {what} ({url}): {reason}",
                                          502) from None
        raise AssertionError("unreachable")

    def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
        with self._opener.open(request, timeout=self.policy.timeout) as answer:
            body = answer.read(self.policy.max_bytes + 1)
            if len(body) > self.policy.max_bytes:
                raise ServiceRequestError(
                    f"{url} is larger than {self.policy.max_bytes // (1024 * 1024)} MB", 413)
            return Response(answer.geturl(), answer.status, answer.headers, body)

    def _respect_interval(self, host: str) -> None:
        interval = self.policy.min_interval.get(host, 0.0)
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next_time.get(host, 0.0))
            self._next_time[host] = start + interval
        if start > now:
            time.sleep(start - now)


class _AllowlistRedirects(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only to an allowlisted host."""

    def __init__(self, check_url):
        self.check_url = check_url

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        self.check_url(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _retry_after(headers: Message, default: float) -> float:
    value = (headers or {}).get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:  # an HTTP date: fall back to our own backoff
        return default


def _http_error(exc: urllib.error.HTTPError, what: str) -> ServiceRequestError:
    if exc.code == 429:
        return ServiceRequestError(f"{what} is rate-limiting requests (HTTP 429) and did not "
                                   "recover in time; try again in a minute", 429)
    if exc.code == 404:
        return ServiceRequestError(f"{what} has no such document (HTTP 404): {exc.url}", 404)
    return ServiceRequestError(f"{what} answered HTTP {exc.code} {exc.reason} for {exc.url}", 502)
