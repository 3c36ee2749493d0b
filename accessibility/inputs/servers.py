"""Which Overpass and Nominatim servers a run talks to, and how patiently.

One :class:`Servers` value holds the server URLs, the timeout, the retry budget
and the user agent. It is built from (highest first) command-line options,
environment variables and osmnx's settings, used by the place search
(:func:`accessibility.inputs.download.geocode_place`), the Overpass download
(:func:`accessibility.inputs.download.fetch_osm`) and geopy (``--geocoder nominatim``),
and recorded in ``run.json``.

Environment variables
---------------------
``ACCESSIBILITY_OVERPASS_URL``
    Overpass API base URL, up to ``/api`` (default ``https://overpass-api.de/api``).
``ACCESSIBILITY_NOMINATIM_URL``
    Nominatim base URL (default ``https://nominatim.openstreetmap.org/``).
``ACCESSIBILITY_TIMEOUT``
    Seconds per request; also the Overpass query's ``[timeout:]`` (default 180).
``ACCESSIBILITY_OVERPASS_ATTEMPTS``
    Requests per query before giving up on a busy server (default 5); also for
    the Nominatim place search.
``ACCESSIBILITY_OVERPASS_MAX_WAIT``
    Seconds of waiting for a busy server, in all, before giving up (default 900);
    also for the Nominatim place search.
``ACCESSIBILITY_OVERPASS_RETRY_WAIT``
    Seconds to wait after a "busy" answer (HTTP 429/503/504) that names no time
    itself (default 55, as osmnx); also for Nominatim.
``ACCESSIBILITY_OVERPASS_RATE_LIMIT``
    ``1`` (default): ask the server's ``/status`` for a free slot before each
    query; ``0``: do not (servers without that endpoint).
``ACCESSIBILITY_NOMINATIM_DELAY``
    Seconds between Nominatim requests (default 1; never less for the public server).
``ACCESSIBILITY_USER_AGENT``
    HTTP user agent; identify yourself on public servers.

The public servers' usage policies apply (https://operations.osmfoundation.org/policies/nominatim/,
https://dev.overpass-api.de/overpass-doc/en/preface/commons.html): an identifying
user agent, at most one Nominatim request per second, Overpass slots honoured
through ``/status``, and downloads cached so the same area is asked only once.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from urllib.parse import urlsplit

from ..errors import InputError

PUBLIC_OVERPASS = "https://overpass-api.de/api"
PUBLIC_NOMINATIM = "https://nominatim.openstreetmap.org/"

#: Field → environment variable.
ENV = {
    "overpass_url": "ACCESSIBILITY_OVERPASS_URL",
    "nominatim_url": "ACCESSIBILITY_NOMINATIM_URL",
    "timeout_s": "ACCESSIBILITY_TIMEOUT",
    "max_attempts": "ACCESSIBILITY_OVERPASS_ATTEMPTS",
    "max_wait_s": "ACCESSIBILITY_OVERPASS_MAX_WAIT",
    "retry_wait_s": "ACCESSIBILITY_OVERPASS_RETRY_WAIT",
    "rate_limit": "ACCESSIBILITY_OVERPASS_RATE_LIMIT",
    "nominatim_delay_s": "ACCESSIBILITY_NOMINATIM_DELAY",
    "user_agent": "ACCESSIBILITY_USER_AGENT",
}


def default_user_agent() -> str:
    """The HTTP user agent sent to Nominatim and Overpass (package name and version).

    Returns
    -------
    str
        ``accessibility/<version> (docking-point accessibility analyzer)``.
    """
    from .. import __version__

    return f"accessibility/{__version__} (docking-point accessibility analyzer)"


@dataclass(frozen=True)
class Servers:
    """Server URLs and request limits of a run.

    Attributes
    ----------
    overpass_url : str
        Overpass API base URL (``.../api``); queries go to ``/interpreter``,
        slot checks to ``/status``.
    nominatim_url : str
        Nominatim base URL; searches go to ``/search``.
    timeout_s : float
        Seconds per HTTP request and the Overpass query timeout.
    max_attempts : int
        Requests per Overpass query (and per Nominatim place search) before giving
        up on a busy server (>= 1).
    max_wait_s : float
        Seconds of waiting for a busy server in all (per download or place search)
        before giving up.
    retry_wait_s : float
        Seconds to wait after a busy answer that does not say how long.
    rate_limit : bool
        Ask Overpass ``/status`` for a free slot before each query.
    nominatim_delay_s : float
        Seconds between Nominatim requests (at least 1 for the public server).
    user_agent : str
        HTTP ``User-Agent`` of every request.
    """

    overpass_url: str = PUBLIC_OVERPASS
    nominatim_url: str = PUBLIC_NOMINATIM
    timeout_s: float = 180.0
    max_attempts: int = 5
    max_wait_s: float = 900.0
    retry_wait_s: float = 55.0
    rate_limit: bool = True
    nominatim_delay_s: float = 1.0
    user_agent: str = ""

    def __post_init__(self) -> None:
        for name in ("overpass_url", "nominatim_url"):
            url = str(getattr(self, name))
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise InputError(
                    f"{name.replace('_', ' ')} {url!r} is not an http(s) URL; give e.g. "
                    f"{PUBLIC_OVERPASS if name == 'overpass_url' else PUBLIC_NOMINATIM} "
                    f"(option --{name.replace('_', '-')} or ${ENV[name]})"
                )
        for name in ("timeout_s", "max_wait_s", "retry_wait_s", "nominatim_delay_s"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or not math.isfinite(v) or v < 0:
                raise InputError(
                    f"{name} must be a number of seconds >= 0, got {v!r} (${ENV[name]})"
                )
        if self.timeout_s <= 0:
            raise InputError(f"the timeout must be positive seconds, got {self.timeout_s}")
        if not isinstance(self.max_attempts, int) or self.max_attempts < 1:
            raise InputError(
                f"Overpass attempts must be a whole number >= 1, got {self.max_attempts!r} "
                f"(--overpass-attempts or ${ENV['max_attempts']})"
            )
        if not self.user_agent:
            object.__setattr__(self, "user_agent", default_user_agent())
        if self.is_public_nominatim and self.nominatim_delay_s < 1.0:
            object.__setattr__(self, "nominatim_delay_s", 1.0)  # usage policy: <= 1 request/s

    @property
    def is_public_nominatim(self) -> bool:
        """Whether the Nominatim server is the public OSM one (its usage policy applies: 1 request/s)."""
        return urlsplit(self.nominatim_url).hostname == "nominatim.openstreetmap.org"

    @classmethod
    def from_env(cls, **options) -> Servers:
        """Options (``None`` = not given) over environment variables over osmnx's settings.

        Parameters
        ----------
        **options
            Any field of :class:`Servers`; ``None`` values are ignored.

        Raises
        ------
        InputError
            A value is not a URL / number, naming the variable.

        Returns
        -------
        Servers
            The settings (timeouts and delays in seconds).
        """
        from osmnx import settings

        values: dict = {
            "overpass_url": settings.overpass_url,
            "nominatim_url": settings.nominatim_url,
            "timeout_s": float(settings.requests_timeout),
            "rate_limit": bool(settings.overpass_rate_limit),
        }
        kinds = {f.name: f.type for f in fields(cls)}
        for name, var in ENV.items():
            raw = os.environ.get(var)
            if raw is None or not raw.strip():
                continue
            values[name] = _convert(name, raw.strip(), kinds[name], var)
        values.update({k: v for k, v in options.items() if v is not None})
        return cls(**values)

    def record(self) -> dict:
        """The settings for ``run.json``.

        Returns
        -------
        dict
            Every field of :class:`Servers` by name.
        """
        return asdict(self)

    @property
    def status_url(self) -> str:
        """The Overpass server's ``/status`` address."""
        return self.overpass_url.rstrip("/") + "/status"

    @property
    def interpreter_url(self) -> str:
        """The Overpass server's ``/interpreter`` address."""
        return self.overpass_url.rstrip("/") + "/interpreter"

    def geopy_kwargs(self) -> dict:
        """Keyword arguments of :class:`accessibility.inputs.geocode.NominatimGeocoder`.

        Returns
        -------
        dict
            ``domain``, ``scheme``, ``timeout`` (seconds), ``min_delay_s`` (seconds)
            and ``user_agent``.
        """
        parts = urlsplit(self.nominatim_url)
        return {
            "domain": parts.netloc + parts.path.rstrip("/"),
            "scheme": parts.scheme,
            "timeout": self.timeout_s,
            "min_delay_s": self.nominatim_delay_s,
            "user_agent": self.user_agent,
        }

    def headers(self) -> dict[str, str]:
        """HTTP headers of every request (user agent).

        Returns
        -------
        dict of str to str
            ``User-Agent`` and ``Accept-Encoding``.
        """
        return {"User-Agent": self.user_agent, "Accept-Encoding": "gzip, deflate"}

    @contextlib.contextmanager
    def osmnx(self) -> Iterator[None]:
        """Apply the URLs, timeout and user agent to ``osmnx.settings`` for a block.

        Returns
        -------
        context manager
            Restores the previous ``osmnx.settings`` on exit.
        """
        from osmnx import settings

        new = {
            "overpass_url": self.overpass_url,
            "nominatim_url": self.nominatim_url,
            "requests_timeout": self.timeout_s,
            "overpass_rate_limit": self.rate_limit,
            "http_user_agent": self.user_agent,
        }
        old = {k: getattr(settings, k) for k in new}
        for k, v in new.items():
            setattr(settings, k, v)
        try:
            yield
        finally:
            for k, v in old.items():
                setattr(settings, k, v)


#: Time of the last request per Nominatim server (monotonic seconds), for the rate limit.
_NOMINATIM_LAST: dict[str, float] = {}


def nominatim_pause(url: str, delay_s: float) -> None:
    """Sleep so that requests to the Nominatim server ``url`` are ``delay_s`` seconds apart.

    Shared by the place search and the address geocoder of a process, so that
    together they keep the server's rate limit (one request per second on the
    public server).

    Parameters
    ----------
    url : str
        The Nominatim server (trailing slash ignored).
    delay_s : float
        Least time between two requests in seconds.
    """
    import time

    key = url.rstrip("/")
    last = _NOMINATIM_LAST.get(key)
    if last is not None:
        time.sleep(max(delay_s - (time.monotonic() - last), 0.0))
    _NOMINATIM_LAST[key] = time.monotonic()


def _convert(name: str, raw: str, kind, var: str):
    kind = str(kind)
    try:
        if "bool" in kind:
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if "int" in kind:
            return int(raw)
        if "float" in kind:
            return float(raw)
    except ValueError:
        raise InputError(f"${var}={raw!r} is not a valid {kind.split()[0]}") from None
    return raw
