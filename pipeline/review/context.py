"""What the review app needs once: the data directory checked, the taxonomy, who reviews."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

from pipeline.classify.taxonomy import Taxonomy, load_taxonomy
from pipeline.config import Settings
from pipeline.errors import AscoltoError, NoRunYet, NoStore
from pipeline.stages.report import last_run
from pipeline.store import STORE_FILE, Store

TOKEN_ENV = "ASCOLTO_REVIEW_TOKEN"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]", "::1")


class NothingToReview(AscoltoError, LookupError):
    """The data directory has no labelled customer utterance yet."""


def is_loopback(host: str) -> bool:
    """Whether `host` is a loopback address or name (only such a bind may skip the token)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ReviewContext:
    """What every request needs: where the store is, the taxonomy, thresholds, who reviews."""

    data_dir: Path
    settings: Settings
    taxonomy: Taxonomy
    thresholds: dict[str, float]
    reviewer: str
    token: str | None
    hosts: tuple[str, ...]  # Host headers accepted (empty: any, the token guards)


def theme_thresholds(settings: Settings) -> dict[str, float]:
    """Each theme's decision threshold: the trained heads' (hybrid), else none known ({})."""
    if settings.classify.method != "hybrid":
        return {}
    from pipeline.classify.heads import load_heads

    heads = load_heads(settings.classify.heads)
    return {code: heads.threshold(code) for code in heads.codes}


def check_ready(data_dir: Path) -> None:
    """NoStore / NoRunYet / NothingToReview, each saying to run the pipeline first."""
    if not (data_dir / STORE_FILE).is_file():
        raise NoStore(f"no ascolto store in {data_dir}: run `ascolto run` or `make demo` first")
    with Store(data_dir, read_only=True) as store:
        try:
            keys = last_run(store).keys
        except NoRunYet:
            raise NoRunYet(
                f"no completed run in {data_dir}: run `ascolto run` or `make demo` first"
            ) from None
        if not store.utterance_label_count(keys.classify):
            raise NothingToReview(
                f"no labelled customer utterance in {data_dir}: run `ascolto run` or "
                "`make demo` first"
            )


def make_context(
    data_dir: Path, settings: Settings, token: str | None = None, reviewer: str = ""
) -> ReviewContext:
    """Check the data directory and load what the app needs once."""
    import getpass

    check_ready(data_dir)
    host, port = settings.review.host, settings.review.port
    if not is_loopback(host) and not token:
        raise AscoltoError(f"bound to {host}, the review page needs a token (set ${TOKEN_ENV})")
    # On loopback the Host header must be a loopback name (a DNS-rebinding page names its own);
    # elsewhere the token guards every request and clients use whatever name reaches the host.
    names = LOOPBACK_NAMES if is_loopback(host) else ()
    hosts = tuple(h for name in names for h in (name, f"{name}:{port}"))
    who = reviewer or settings.review.reviewer or getpass.getuser()
    return ReviewContext(data_dir, settings, load_taxonomy(settings.themes_file),
                         theme_thresholds(settings), who, token, hosts)  # fmt: skip
