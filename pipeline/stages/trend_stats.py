"""The statistics behind the trend scores: the share-ratio test, its dispersion, the
Benjamini-Hochberg adjustment, the long-run slope and where a topic really starts.

Pure numpy/scipy on count matrices, no pandas periods and no I/O: ``pipeline.stages.trends``
builds the matrices and the windows and calls these. ``docs/trends.md`` states each rule.
"""

from __future__ import annotations

import numpy as np


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values); NaN stays NaN and is not counted."""
    p = np.asarray(p, dtype=float)
    q = np.full_like(p, np.nan)
    ok = np.isfinite(p)
    m = int(ok.sum())
    if m == 0:
        return q
    pv = p[ok]
    order = np.argsort(pv, kind="stable")
    ranked = pv[order] * m / np.arange(1, m + 1)
    ranked = np.minimum.accumulate(ranked[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.clip(ranked, 0, 1)
    q[ok] = out
    return q


def share_ratio_test(
    xr: np.ndarray,
    xp: np.ndarray,
    nr: float,
    np_: float,
    k: int,
    smoothing: float,
    phi: float,
    alpha: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Growth (log share ratio), its likelihood-ratio interval and the LR p-value of no change.

    Counts are smoothed first: each topic gets a pseudo-count proportional to the window's
    size (``smoothing`` on average over the two windows) and each window's total gets one
    per category (``k``), so growth = log((xr + ar)/(nr + ar*k)) - log((xp + ap)/(np + ap*k)).
    Given the topic's smoothed count in both windows together, its recent count is
    binomial with probability pi(rho) = rho*Nr / (rho*Nr + Np), where rho is the share ratio
    and N the smoothed totals (documents fall in the topic independently, at a small rate).
    Growth is the maximum-likelihood log rho of that model; the p-value is the likelihood-
    ratio test of rho = 1 and the interval the rhos it does not reject at ``alpha``, with the
    deviance divided by the dispersion ``phi`` (quasi-likelihood) when it exceeds 1. Both
    come from one test, so the interval excludes 0 exactly when p < alpha; and a topic absent
    from one window still gets a sensible p-value (a Wald test on the log scale has almost
    no power there).
    """
    from scipy.stats import chi2

    nbar = (nr + np_) / 2
    ar, ap = smoothing * nr / nbar, smoothing * np_ / nbar
    big_r, big_p = nr + ar * k, np_ + ap * k
    sr, sp = np.asarray(xr, dtype=float) + ar, np.asarray(xp, dtype=float) + ap
    offset = np.log(big_p / big_r)  # growth = logit(pi) + offset

    def loglik(z: np.ndarray) -> np.ndarray:  # binomial log-likelihood at logit z
        return -sr * np.logaddexp(0.0, -z) - sp * np.logaddexp(0.0, z)

    zhat = np.log(sr) - np.log(sp)
    lmax = loglik(zhat)
    deviance = 2.0 * (lmax - loglik(np.full_like(zhat, -offset)))
    scale = max(1.0, phi)
    p = chi2.sf(np.maximum(deviance, 0.0) / scale, df=1)
    crit = scale * chi2.ppf(1 - alpha, df=1) / 2.0

    def bound(direction: float) -> np.ndarray:
        inside, outside = zhat.copy(), zhat + direction * 60.0
        for _ in range(80):
            mid = (inside + outside) / 2
            out = lmax - loglik(mid) > crit
            outside = np.where(out, mid, outside)
            inside = np.where(out, inside, mid)
        return (inside + outside) / 2

    growth = zhat + offset
    return growth, bound(-1.0) + offset, bound(1.0) + offset, p


MIN_DISPERSION_PAIRS = 3  # period pairs needed to estimate the dispersion, else 1 is assumed


def dispersion(blocks: list[tuple[np.ndarray, np.ndarray]]) -> float:
    """Extra-binomial variation of the per-period counts, pooled over topics (1 = binomial).

    Each pair of adjacent periods (with documents) *within* a window gives a 1-degree-of-
    freedom Pearson chi-square of a topic's count in one period against the other; their
    mean is ~1 when documents fall in topics independently, larger when topics come in
    bursts. Adjacent differences cancel slow trends, so a rising topic does not look noisy,
    and no pair straddles the two windows, so the change being tested never inflates its own
    variance. ``blocks`` holds (topics x periods counts, documents per period) per window;
    with fewer than ``MIN_DISPERSION_PAIRS`` pairs it returns 1.
    """
    chis = []
    pairs = 0
    for counts, totals in blocks:
        keep = totals > 0
        counts, totals = counts[:, keep].astype(float), totals[keep].astype(float)
        if counts.shape[1] < 2:
            continue
        pairs += counts.shape[1] - 1
        x1, x2, n1, n2 = counts[:, :-1], counts[:, 1:], totals[:-1], totals[1:]
        pbar = (x1 + x2) / (n1 + n2)
        var = pbar * (1 - pbar) * (1 / n1 + 1 / n2)
        ok = var > 0
        chis.append(((x1 / n1 - x2 / n2) ** 2 / np.where(ok, var, 1.0))[ok])
    if pairs < MIN_DISPERSION_PAIRS or not chis or not sum(len(c) for c in chis):
        return 1.0
    return float(np.concatenate(chis).mean())


def wls_slope(t: np.ndarray, y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Weighted least-squares slope of each row of ``y`` on ``t`` (NaN with < 2 points)."""
    if len(t) < 2 or w.sum() <= 0:
        return np.full(y.shape[0], np.nan)
    w = w / w.sum()
    tbar = float((w * t).sum())
    dt = t - tbar
    sxx = float((w * dt * dt).sum())
    if sxx <= 0:
        return np.full(y.shape[0], np.nan)
    return (y * (w * dt)).sum(axis=1) / sxx


# A topic's leading documents are isolated when they are at most this fraction of its
# documents (at least 1) and are followed by a gap that is far (at least half as long as the
# topic's life after it) and telling: at the share the topic holds from its next document
# on, more than ln(100) documents were expected in it (by chance < 1% of the time).
ISOLATED_MAX_FRACTION = 0.05
ISOLATED_GAP_LOG_ODDS = float(np.log(100.0))
ISOLATED_GAP_LIFE = 0.5


def real_start(counts: np.ndarray, totals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each topic's first period, ignoring isolated documents far before its real start.

    ``counts`` is topics x periods, ``totals`` all documents per period. Walking from the
    topic's first period, the start moves past an occupied period when the documents up to it
    are at most ``ISOLATED_MAX_FRACTION`` of the topic's (at least 1), the empty periods after
    it number at least ``ISOLATED_GAP_LIFE`` times the periods from the next occupied one to
    the topic's last, and they held so many documents that, at the topic's share from its
    next document on, more than ``ln(100)`` of them were expected in the topic. One misdated
    paper decades before a topic's papers is skipped; an early paper in a sparse era (few
    documents in the gap, so few expected) is kept, and so are the first papers of a topic
    that rises over months (their gaps are short next to its life).
    Returns (start index or -1, documents skipped) per topic.
    """
    n_topics, n_periods = counts.shape
    start = np.full(n_topics, -1, dtype=np.int64)
    skipped = np.zeros(n_topics, dtype=np.int64)
    if n_periods == 0:
        return start, skipped
    tot = np.asarray(totals, dtype=float)
    tot_after = np.cumsum(tot[::-1])[::-1]  # documents from period j on
    tot_before = np.concatenate([[0.0], np.cumsum(tot)])  # documents before period j
    for t in range(n_topics):
        row = counts[t]
        occupied = np.flatnonzero(row)
        if not len(occupied):
            continue
        cap = max(1, int(ISOLATED_MAX_FRACTION * row.sum()))
        after = np.cumsum(row[::-1])[::-1]
        start[t], lead = occupied[0], 0
        for here, nxt in zip(occupied[:-1], occupied[1:], strict=True):
            lead += int(row[here])
            if lead > cap:
                break
            far = nxt - here - 1 >= ISOLATED_GAP_LIFE * (occupied[-1] - nxt + 1)
            share = after[nxt] / tot_after[nxt]
            expected = share * (tot_before[nxt] - tot_before[here + 1])
            if far and expected > ISOLATED_GAP_LOG_ODDS:
                start[t], skipped[t] = nxt, lead
    return start, skipped


def detectable_support(nr: float, np_: float, phi: float, alpha: float, effect: float) -> float:
    """Fewest documents (both windows together) a unit needs for the test to show a change
    of its share by the factor ``exp(effect)`` (a rise for ``effect > 0``, a fall below 0).

    Under no change a unit's recent count out of its ``S`` documents is binomial with
    probability ``f = nr / (nr + np_)``; had its share been multiplied by ``rho``, the
    probability would be ``pi = rho*f / (rho*f + 1 - f)``, and the likelihood-ratio
    deviance would average ``2 * S * KL(pi || f)``. The answer is the ``S`` at which that
    reaches the test's critical value (``chi2(1 - alpha)``, times the dispersion when it
    exceeds 1): below it even a change that large would usually not be significant, so a
    unit that small is not evidence either way. Infinite when a window holds no documents.
    """
    from scipy.stats import chi2

    if nr <= 0 or np_ <= 0 or effect == 0:
        return float("inf")
    f = nr / (nr + np_)
    rho = float(np.exp(effect))
    pi = rho * f / (rho * f + 1 - f)
    per_doc = 2.0 * (pi * np.log(pi / f) + (1 - pi) * np.log((1 - pi) / (1 - f)))
    return float(max(1.0, phi) * chi2.ppf(1 - alpha, df=1) / per_doc)
