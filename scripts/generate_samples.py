"""Generate the bundled traffic samples in ``traffic_samples/`` from a seed, deterministically.

One synthetic shop is simulated: a catalogue of products with Zipf popularity, searches
with query strings in varying order and utm_* noise, static assets, categories, per-user
uncacheable endpoints (cart, account) and a few POSTs, arriving at a diurnal rate
compressed into half an hour, with a deploy at 60 % of the time that makes previously cold
products hot. A production cache with per-endpoint TTLs decides each request's recorded
cache status. The same requests are written three ways (canonical JSONL, nginx access
log, HAR) so importer tests can compare against a known truth; ``traffic_samples/README.md``
states the exact correspondences.

Only the standard library's ``random`` (stable across Python versions) drives the
randomness, and every compressed file is written with a zero mtime, so the same seed
gives the same bytes.

Usage::

    .venv/bin/python scripts/generate_samples.py [--seed 42] [--requests 55000]
        [--out-dir traffic_samples] [--har-requests 15000]
"""

from __future__ import annotations

import argparse
import base64
import bisect
import dataclasses
import gzip
import hashlib
import itertools
import json
import math
import random
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script from a checkout
    sys.path.insert(0, str(ROOT))

from warmer.config.schema import KeyConfig  # noqa: E402
from warmer.sample.keys import make_key_function  # noqa: E402

HOST = "shop.example"
START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)
"""First possible request time (UTC); the log and HAR show it at +01:00."""
LOCAL = timezone(timedelta(hours=1))

MIX: dict[str, float] = {
    "product": 0.42,
    "search": 0.14,
    "static": 0.22,
    "category": 0.07,
    "cart": 0.05,
    "account": 0.05,
    "cart_post": 0.015,
    "review_post": 0.005,
}
"""Share of requests per endpoint class (normalised)."""

TTL_S = {"product": 300, "search": 60, "static": 3600, "category": 120}
"""Production cache TTL per cacheable class; uncacheable classes are BYPASS or no cache."""

USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/18.0 Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/130.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
)
COLOURS = ("red", "blue", "black", "white", "green", "grey", "beige", "navy", "pink", "gold")
NOUNS = (
    "shoes", "jacket", "dress", "sneakers", "boots", "shirt", "jeans", "scarf", "hat", "bag",
    "watch", "sweater", "coat", "skirt", "belt", "socks", "gloves", "shorts", "sandals", "tie",
)  # fmt: skip
EXTRA = ("", "", "", "kids", "women", "men", "sale", "wool", "leather", "caf%C3%A9")


@dataclass(frozen=True)
class Profile:
    """What to generate; the defaults make the bundled demo sample."""

    seed: int = 42
    requests: int = 55_000
    duration_s: float = 1800.0
    """One diurnal cycle compressed into this many seconds."""
    products: int = 30_000
    zipf_s: float = 1.05
    """Popularity exponent of products (and, flatter or steeper, of the other classes)."""
    shift_at: float | None = 0.6
    """Fraction of the time span at which the hot product set changes (None: never)."""
    shift_size: int = 3000
    """How many of the hottest product ranks get previously cold products."""
    users: int = 8000
    mix: dict[str, float] = field(default_factory=lambda: dict(MIX))


@dataclass(frozen=True)
class Request:
    """One generated request and its recorded response; the truth all three files encode."""

    ts_ms: int
    method: str
    target: str
    status: int
    response_bytes: int
    duration_ms: int
    cache_status: str | None
    user: int
    referer: str | None
    body: bytes | None = None
    content_type: str = "text/html"

    @property
    def ts(self) -> float:
        return self.ts_ms / 1000


# --------------------------------------------------------------------------- sampling


def zipf_cumulative(n: int, s: float) -> list[float]:
    """Cumulative weights of ranks 1..n under Zipf(s), for ``random.choices``."""
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


def pick(rnd: random.Random, cumulative: Sequence[float]) -> int:
    """A 0-based rank drawn from cumulative weights."""
    return bisect.bisect_right(cumulative, rnd.random() * cumulative[-1])


def diurnal_times(rnd: random.Random, profile: Profile) -> list[int]:
    """Sorted request start times (ms since START) following one compressed day.

    The rate is ``1 + 0.65·sin(2πx − π/2)`` (night, morning rise, evening peak, night)
    with slow noise; times are drawn by inverting its cumulative on a 1 s grid.
    """
    steps = max(int(profile.duration_s), 2)
    rate = [
        max(0.05, 1 + 0.65 * math.sin(2 * math.pi * i / steps - math.pi / 2))
        * (1 + 0.15 * math.sin(i / 37.0) * math.cos(i / 11.0))
        for i in range(steps)
    ]
    cumulative = list(itertools.accumulate(rate))
    times = []
    for _ in range(profile.requests):
        u = rnd.random() * cumulative[-1]
        second = bisect.bisect_right(cumulative, u)
        times.append(int((second + rnd.random()) * 1000))
    times.sort()
    return times


def object_size(key: str, low: int, high: int) -> int:
    """A stable per-object size, log-uniform in [low, high] (same key, same size)."""
    fraction = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big") / 2**64
    return int(low * (high / low) ** fraction)


# --------------------------------------------------------------------------- the shop


class Shop:
    """Turns a time and a random stream into one request of some endpoint class."""

    def __init__(self, rnd: random.Random, profile: Profile) -> None:
        self.rnd = rnd
        self.profile = profile
        self.product_cum = zipf_cumulative(profile.products, profile.zipf_s)
        self.before, self.after = self._product_orders()
        self.terms = self._search_terms()
        self.term_cum = zipf_cumulative(len(self.terms), 0.9)
        self.assets = self._assets()
        self.asset_cum = zipf_cumulative(len(self.assets), 1.2)
        self.categories = [f"{c}-{n}" for n in NOUNS for c in COLOURS[:8]][:150]
        self.category_cum = zipf_cumulative(len(self.categories), 0.8)
        self.user_cum = zipf_cumulative(profile.users, 0.6)
        self.deleted = set(rnd.sample(range(1, profile.products + 1), 150))
        classes = list(profile.mix)
        self.classes = classes
        self.class_cum = list(itertools.accumulate(profile.mix[c] for c in classes))

    def _product_orders(self) -> tuple[list[int], list[int]]:
        """Product id by popularity rank before and after the deploy."""
        before = list(range(1, self.profile.products + 1))
        self.rnd.shuffle(before)
        after = list(before)
        n = min(self.profile.shift_size, self.profile.products // 4)
        cold = slice(self.profile.products // 2, self.profile.products // 2 + n)
        after[:n], after[cold] = before[cold], before[:n]
        return before, after

    def _search_terms(self) -> list[str]:
        terms = [
            "+".join(p for p in (extra, colour, noun) if p)
            for noun in NOUNS
            for colour in COLOURS
            for extra in EXTRA
        ]
        self.rnd.shuffle(terms)
        return terms

    def _assets(self) -> list[tuple[str, str, int, int]]:
        """(path, content type, min bytes, max bytes), hottest first."""
        digest = hashlib.sha256(str(self.profile.seed).encode()).hexdigest()
        assets = [
            (f"/static/js/app.{digest[:8]}.js", "application/javascript", 180_000, 220_000),
            (f"/static/css/site.{digest[8:16]}.css", "text/css", 40_000, 60_000),
            (f"/static/js/vendor.{digest[16:24]}.js", "application/javascript", 300_000, 400_000),
            ("/static/img/logo.svg", "image/svg+xml", 3_000, 5_000),
            ("/favicon.ico", "image/x-icon", 1_000, 2_000),
        ]
        assets += [
            (f"/static/fonts/inter-{w}.woff2", "font/woff2", 20_000, 40_000) for w in (400, 600)
        ]
        assets += [
            (f"/static/img/p/{n}.webp", "image/webp", 15_000, 250_000) for n in range(1, 294)
        ]
        return assets

    def user_of(self) -> int:
        return pick(self.rnd, self.user_cum)

    def product_id(self, shifted: bool) -> int:
        rank = pick(self.rnd, self.product_cum)
        return (self.after if shifted else self.before)[rank]

    def request(self, ts_ms: int, shifted: bool) -> tuple[str, str, str, bytes | None, str]:
        """(class, method, target, body, content type) of the next request."""
        cls = self.classes[pick(self.rnd, self.class_cum)]
        method, target, body, ctype = getattr(self, f"_{cls}")(shifted)
        return cls, method, target, body, ctype

    def _product(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        method = "HEAD" if self.rnd.random() < 0.012 else "GET"
        return method, f"/product/{self.product_id(shifted)}", None, "text/html"

    def _search(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        rnd = self.rnd
        params = [f"q={self.terms[pick(rnd, self.term_cum)]}"]
        page = 1 + min(4, int(rnd.expovariate(1.6)))
        if page > 1 or rnd.random() < 0.7:
            params.append(f"page={page}")
        if rnd.random() < 0.15:
            params.append(rnd.choice(("sort=price", "sort=new", "sort=popular")))
        rnd.shuffle(params)  # clients order parameters differently
        if rnd.random() < 0.2:
            noise = ["utm_source=newsletter", "utm_medium=email", "utm_campaign=bf2026"]
            params = noise + params if rnd.random() < 0.5 else params + noise
        if rnd.random() < 0.03:
            params.append(f"gclid={rnd.getrandbits(64):016x}")
        return "GET", "/search?" + "&".join(params), None, "text/html"

    def _static(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        path, ctype, _, _ = self.assets[pick(self.rnd, self.asset_cum)]
        return "GET", path, None, ctype

    def _category(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        slug = self.categories[pick(self.rnd, self.category_cum)]
        sort = self.rnd.choice(("", "", "?sort=price", "?sort=popular"))
        return "GET", f"/category/{slug}{sort}", None, "text/html"

    def _cart(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        return "GET", "/api/cart", None, "application/json"

    def _account(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        u = self.rnd.random()
        if u < 0.4:
            return "GET", "/account/orders", None, "text/html"
        if u < 0.8:
            return "GET", "/account/profile", None, "text/html"
        if u < 0.9:
            return "GET", "/account/orders?page=2", None, "text/html"
        return "GET", f"/account/verify?token=tk_{self.rnd.getrandbits(96):024x}", None, "text/html"

    def _cart_post(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        body = json.dumps({"sku": self.product_id(shifted), "qty": self.rnd.randint(1, 3)})
        return "POST", "/api/cart", body.encode(), "application/json"

    def _review_post(self, shifted: bool) -> tuple[str, str, bytes | None, str]:
        product = self.product_id(shifted)
        body = json.dumps({"rating": self.rnd.randint(1, 5), "text": "Fits well."})
        return "POST", f"/product/{product}/reviews", body.encode(), "application/json"


# --------------------------------------------------------------------------- responses


class ProductionCache:
    """A TTL cache in front of production: decides HIT / MISS / EXPIRED per request."""

    def __init__(self) -> None:
        self.key = make_key_function(KeyConfig())
        self.stored: dict[str, int] = {}

    def status(self, cls: str, method: str, target: str, ts_ms: int) -> str | None:
        if method == "POST":
            return None
        ttl = TTL_S.get(cls)
        if ttl is None:
            return "BYPASS"
        key = self.key(method, target, {})
        stored = self.stored.get(key)
        if stored is not None and ts_ms - stored < ttl * 1000:
            return "HIT"
        self.stored[key] = ts_ms
        return "MISS" if stored is None else "EXPIRED"


SIZES = {
    "product": (18_000, 70_000),
    "search": (12_000, 90_000),
    "category": (25_000, 80_000),
    "cart": (300, 2_500),
    "account": (3_000, 12_000),
    "cart_post": (150, 400),
    "review_post": (80, 120),
}


def respond(
    rnd: random.Random, shop: Shop, cls: str, method: str, target: str, cache: str | None
) -> tuple[int, int, int]:
    """(status, response bytes, duration ms) for one request."""
    status = _status(rnd, shop, cls, method, target)
    size = _size(shop, cls, target, status, method)
    if cache == "HIT":
        duration = 1 + int(rnd.expovariate(1 / 3))
    else:
        duration = 25 + int(rnd.expovariate(1 / 90))
    return status, size, duration


def _status(rnd: random.Random, shop: Shop, cls: str, method: str, target: str) -> int:
    if rnd.random() < 0.002:
        return rnd.choice((502, 503))
    if method == "POST":
        return 201
    if cls == "product" and int(target.rsplit("/", 1)[1]) in shop.deleted:
        return 404
    if cls == "static" and rnd.random() < 0.06:
        return 304
    if cls == "account" and "verify" in target:
        return 302
    return 200


def _size(shop: Shop, cls: str, target: str, status: int, method: str) -> int:
    if method == "HEAD" or status in (302, 304):
        return 0
    if status >= 500:
        return 157
    if status == 404:
        return 3_641
    if cls == "static":
        path = target.split("?", 1)[0]
        low, high = next((lo, hi) for p, _, lo, hi in shop.assets if p == path)
        return object_size(path, low, high)
    low, high = SIZES[cls]
    return object_size(target, low, high)


def generate(profile: Profile) -> list[Request]:
    """Every request of the sample, in time order."""
    rnd = random.Random(profile.seed)
    shop = Shop(rnd, profile)
    cache = ProductionCache()
    times = diurnal_times(rnd, profile)
    shift_ms = None if profile.shift_at is None else profile.shift_at * profile.duration_s * 1000
    start_ms = int(START.timestamp() * 1000)
    requests = []
    for t in times:
        shifted = shift_ms is not None and t >= shift_ms
        user = shop.user_of()
        cls, method, target, body, ctype = shop.request(t, shifted)
        ts_ms = start_ms + t
        cache_status = cache.status(cls, method, target, ts_ms)
        status, size, duration = respond(rnd, shop, cls, method, target, cache_status)
        requests.append(
            Request(
                ts_ms=ts_ms,
                method=method,
                target=target,
                status=status,
                response_bytes=size,
                duration_ms=duration,
                cache_status=cache_status,
                user=user,
                referer=_referer(rnd, cls),
                body=body,
                content_type=ctype,
            )
        )
    return requests


def _referer(rnd: random.Random, cls: str) -> str | None:
    u = rnd.random()
    if cls == "static" or u < 0.5:
        return f"https://{HOST}/"
    if u < 0.65:
        return "https://www.google.com/"
    return None


# --------------------------------------------------------------------------- identities


def user_ip(user: int) -> str:
    """A private address per user (never a real one)."""
    n = user + 4097
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def user_agent(user: int) -> str:
    return USER_AGENTS[(user * 2654435761) % 2**32 % len(USER_AGENTS)]


def client_id(user: int) -> str:
    """What ``client`` holds in the canonical file: sha256 of the address, 16 hex digits."""
    return hashlib.sha256(user_ip(user).encode()).hexdigest()[:16]


def http_version(user: int) -> str:
    return "HTTP/2.0" if user % 3 else "HTTP/1.1"


def fake_secret(label: str, user: int) -> str:
    """A secret-looking, clearly fake value (for the scrubber to remove)."""
    return hashlib.sha256(f"demo-{label}-{user}".encode()).hexdigest()[:32]


def is_per_user(request: Request) -> bool:
    return request.target.startswith(("/api/cart", "/account/")) or request.method == "POST"


# --------------------------------------------------------------------------- writers


def canonical_rows(requests: Sequence[Request]) -> list[dict[str, object]]:
    """Records of the canonical sample (headers: user-agent and referer only)."""
    key = make_key_function(KeyConfig())
    rows = []
    for r in requests:
        headers = {"user-agent": user_agent(r.user)}
        if r.referer:
            headers["referer"] = r.referer
        if r.body is not None:
            headers["content-type"] = "application/json"
        rows.append(
            {
                "ts": r.ts,
                "method": r.method,
                "target": r.target,
                "key": key(r.method, r.target, headers),
                "scheme": "https",
                "host": HOST,
                "headers": headers,
                "body": base64.b64encode(r.body).decode() if r.body is not None else None,
                "status": r.status,
                "response_bytes": r.response_bytes,
                "duration_ms": float(r.duration_ms),
                "cache_status": r.cache_status,
                "client": client_id(r.user),
            }
        )
    return rows


def write_canonical(requests: Sequence[Request], path: Path, profile: Profile) -> None:
    """The truth, via the library's own sample writer."""
    import pyarrow as pa

    from warmer.model.sample import SAMPLE_ARROW_SCHEMA, SampleMeta
    from warmer.sample.store import SampleWriter

    config = {
        k: list(v) if isinstance(v, tuple) else v
        for k, v in dataclasses.asdict(KeyConfig()).items()
    }
    generator = {k: v for k, v in dataclasses.asdict(profile).items() if k != "mix"}
    meta = SampleMeta(
        created=datetime.fromtimestamp(requests[-1].ts_ms // 1000, UTC).isoformat(),
        sources=({"path": "scripts/generate_samples.py", "format": "generated", **generator},),
        key_config=config,
    )
    rows = canonical_rows(requests)
    with SampleWriter(path) as writer:
        for i in range(0, len(rows), 10_000):
            writer.write_batch(pa.Table.from_pylist(rows[i : i + 10_000], SAMPLE_ARROW_SCHEMA))
        writer.close(meta)


LOG_FORMAT = (
    '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent '
    '"$http_referer" "$http_user_agent" $request_time $upstream_cache_status'
)


def log_line(r: Request) -> str:
    """One nginx line in LOG_FORMAT; time at second resolution, +0100."""
    when = datetime.fromtimestamp(r.ts_ms // 1000, LOCAL).strftime("%d/%b/%Y:%H:%M:%S %z")
    return (
        f'{user_ip(r.user)} - - [{when}] "{r.method} {r.target} {http_version(r.user)}" '
        f'{r.status} {r.response_bytes} "{r.referer or "-"}" "{user_agent(r.user)}" '
        f"{r.duration_ms / 1000:.3f} {r.cache_status or '-'}"
    )


def write_access_log(requests: Sequence[Request], path: Path) -> None:
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as out:
        for r in requests:
            out.write((log_line(r) + "\n").encode())


def har_entry(r: Request) -> dict[str, object]:
    """One HAR 1.2 entry; time with milliseconds at +01:00."""
    # Integer arithmetic: a float timestamp could render .077 as .076.
    moment = datetime.fromtimestamp(r.ts_ms // 1000, LOCAL) + timedelta(milliseconds=r.ts_ms % 1000)
    return {
        "startedDateTime": moment.isoformat(timespec="milliseconds"),
        "time": r.duration_ms,
        "request": _har_request(r),
        "response": _har_response(r),
        "cache": {},
        "timings": {"send": 0, "wait": r.duration_ms, "receive": 0},
    }


def _har_request(r: Request) -> dict[str, object]:
    query = r.target.partition("?")[2]
    request: dict[str, object] = {
        "method": r.method,
        "url": f"https://{HOST}{r.target}",
        "httpVersion": http_version(r.user),
        "cookies": [],
        "headers": _har_request_headers(r),
        "queryString": [_har_param(p) for p in query.split("&") if p] if query else [],
        "headersSize": -1,
        "bodySize": len(r.body) if r.body is not None else 0,
    }
    if r.body is not None:
        request["postData"] = {"mimeType": "application/json", "text": r.body.decode()}
    return request


def _har_request_headers(r: Request) -> list[dict[str, str]]:
    headers = [
        {"name": "Host", "value": HOST},
        {"name": "User-Agent", "value": user_agent(r.user)},
        {"name": "Accept", "value": "*/*" if r.content_type != "text/html" else "text/html"},
    ]
    if r.referer:
        headers.append({"name": "Referer", "value": r.referer})
    if is_per_user(r):
        headers.append({"name": "Cookie", "value": f"session={fake_secret('session', r.user)}"})
    if r.target.startswith("/api/"):
        headers.append({"name": "Authorization", "value": f"Bearer {fake_secret('jwt', r.user)}"})
    return headers


def _har_response(r: Request) -> dict[str, object]:
    headers = [{"name": "Content-Type", "value": r.content_type}]
    if r.cache_status:
        headers.append({"name": "X-Cache-Status", "value": r.cache_status})
    return {
        "status": r.status,
        "statusText": STATUS_TEXT.get(r.status, ""),
        "httpVersion": http_version(r.user),
        "cookies": [],
        "headers": headers,
        "content": {"size": r.response_bytes, "mimeType": r.content_type},
        "redirectURL": "",
        "headersSize": -1,
        "bodySize": r.response_bytes,
    }


STATUS_TEXT = {
    200: "OK",
    201: "Created",
    302: "Found",
    304: "Not Modified",
    404: "Not Found",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def _har_param(param: str) -> dict[str, str]:
    from urllib.parse import unquote_plus

    name, _, value = param.partition("=")
    return {"name": unquote_plus(name), "value": unquote_plus(value)}


def write_har(requests: Sequence[Request], path: Path) -> None:
    har = {
        "log": {
            "version": "1.2",
            "creator": {"name": "warmer generate_samples.py", "version": "1"},
            "pages": [],
            "entries": [har_entry(r) for r in requests],
        }
    }
    with open(path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as out:
        out.write(json.dumps(har, separators=(",", ":")).encode())


# --------------------------------------------------------------------------- CLI


def write_all(profile: Profile, out_dir: Path, har_requests: int) -> dict[str, int]:
    """Write the three files; returns their sizes in bytes."""
    requests = generate(profile)
    out_dir.mkdir(parents=True, exist_ok=True)
    files = {
        "demo.jsonl.gz": lambda p: write_canonical(requests, p, profile),
        "demo-access.log.gz": lambda p: write_access_log(requests, p),
        "demo.har.gz": lambda p: write_har(requests[:har_requests], p),
    }
    for name, write in files.items():
        write(out_dir / name)
    return {name: (out_dir / name).stat().st_size for name in files}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--requests", type=int, default=55_000)
    parser.add_argument("--out-dir", type=Path, default=ROOT / "traffic_samples")
    parser.add_argument(
        "--har-requests", type=int, default=15_000, help="the HAR holds the first N requests"
    )
    args = parser.parse_args(argv)
    profile = Profile(seed=args.seed, requests=args.requests)
    sizes = write_all(profile, args.out_dir, args.har_requests)
    for name, size in sizes.items():
        print(f"{args.out_dir / name}: {size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
