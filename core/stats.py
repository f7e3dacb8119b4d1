"""Is a difference between models real? Pure functions over numbers and
predictions (numpy and scipy only).

- `mean_ci`: mean over seeds with a two-sided Student-t interval.
- `mcnemar`: paired test of two models' errors on the same test set.
- `paired_bootstrap`: macro-F1 and balanced-accuracy differences on the same
  test set, test items resampled (seeded), with a percentile CI and p-value.
- `min_detectable_difference`: the smallest accuracy difference McNemar's test
  finds at a given alpha and power, for a test set's size and discordance.
- `holm` and `rank_models`: a ranking that marks which models are not
  significantly different from the best (Holm-corrected).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy import stats as sps

from core.metrics import scores_from_counts

# McNemar: below this many discordant pairs the exact binomial test is used;
# from it on, the chi-square approximation with continuity correction
EXACT_BELOW = 25


# -- over seeds -----------------------------------------------------------------
@dataclass(frozen=True)
class MeanCI:
    mean: float
    low: float
    high: float
    n: int

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2


def mean_ci(values: Sequence[float], confidence: float = 0.95) -> MeanCI:
    """Mean and two-sided t-interval: mean +- t(1-a/2, n-1) * s / sqrt(n),
    s the sample standard deviation (ddof=1). One value: the interval is NaN."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        return MeanCI(float("nan"), float("nan"), float("nan"), 0)
    mean = float(x.mean())
    if x.size < 2:
        return MeanCI(mean, float("nan"), float("nan"), 1)
    half = float(sps.t.ppf(0.5 + confidence / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return MeanCI(mean, mean - half, mean + half, int(x.size))


def welch_p(a: Sequence[float], b: Sequence[float]) -> float:
    """Two-sided Welch t-test p-value (unequal variances). NaN when either
    side has fewer than 2 values; 1.0 when both sides are constant and equal."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 2 or b.size < 2:
        return float("nan")
    if a.std() == 0 and b.std() == 0:
        return 1.0 if a.mean() == b.mean() else 0.0
    with warnings.catch_warnings():  # near-constant scores: scipy warns, the p-value is still right
        warnings.simplefilter("ignore", RuntimeWarning)
        return float(sps.ttest_ind(a, b, equal_var=False).pvalue)


def welch_ci(a: Sequence[float], b: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """Interval of mean(a) - mean(b) over seeds, Welch's: the difference +-
    t(df) sqrt(s_a^2/n_a + s_b^2/n_b), df by Welch-Satterthwaite. NaN when
    either side has fewer than 2 values; the difference itself when both are
    constant."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.size < 2 or b.size < 2:
        return float("nan"), float("nan")
    diff = float(a.mean() - b.mean())
    va, vb = a.var(ddof=1) / a.size, b.var(ddof=1) / b.size
    if va + vb == 0:
        return diff, diff
    df = (va + vb) ** 2 / (va**2 / (a.size - 1) + vb**2 / (b.size - 1))
    half = float(sps.t.ppf(0.5 + confidence / 2, df) * math.sqrt(va + vb))
    return diff - half, diff + half


# -- two models on one test set -------------------------------------------------
@dataclass(frozen=True)
class McNemar:
    a_only: int  # items model A got right and B wrong
    b_only: int  # items B got right and A wrong
    n: int  # test items
    statistic: float  # the smaller discordant count (exact) or the chi-square statistic
    p_value: float
    method: str  # "exact binomial" or "chi-square, continuity-corrected"

    @property
    def discordance(self) -> float:
        return (self.a_only + self.b_only) / self.n if self.n else 0.0


def mcnemar(y_true: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray, exact_below: int = EXACT_BELOW) -> McNemar:
    """McNemar's test: do A and B err at different rates on the same items?
    Only discordant items count (b = A right, B wrong; c = the reverse).
    b + c < exact_below: exact two-sided binomial test of b ~ Bin(b + c, 1/2),
    p = min(1, 2 P(X <= min(b, c))). Otherwise chi2 = (|b - c| - 1)^2 / (b + c)
    on 1 degree of freedom."""
    y_true, pred_a, pred_b = (np.asarray(v) for v in (y_true, pred_a, pred_b))
    if not (y_true.shape == pred_a.shape == pred_b.shape):
        raise ValueError(f"y_true, pred_a and pred_b must have the same length ({y_true.shape}, {pred_a.shape}, {pred_b.shape})")
    right_a, right_b = pred_a == y_true, pred_b == y_true
    b = int(np.sum(right_a & ~right_b))
    c = int(np.sum(~right_a & right_b))
    n = int(y_true.size)
    if b + c == 0:
        return McNemar(b, c, n, 0.0, 1.0, "exact binomial")
    if b + c < exact_below:
        k = min(b, c)
        p = min(1.0, 2.0 * float(sps.binom.cdf(k, b + c, 0.5)))
        return McNemar(b, c, n, float(k), p, "exact binomial")
    stat = (abs(b - c) - 1.0) ** 2 / (b + c)
    return McNemar(b, c, n, float(stat), float(sps.chi2.sf(stat, 1)), "chi-square, continuity-corrected")


def mcnemar_sample_size(delta: float, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """Test items McNemar's test needs to detect an accuracy difference
    `delta` = p10 - p01 when a share `discordance` = p10 + p01 of items is
    discordant (Connor 1987):
        n = (z(1-a/2) sqrt(psi) + z(power) sqrt(psi - delta^2))^2 / delta^2."""
    _check_rates(delta, discordance)
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    return float((za * math.sqrt(discordance) + zb * math.sqrt(discordance - delta**2)) ** 2 / delta**2)


def min_detectable_difference(n: int, discordance: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest accuracy difference McNemar's test detects with `n` test
    items, a discordance rate psi, two-sided `alpha` and `power`: Connor's
    formula solved for delta,
        sqrt(n) delta = za sqrt(psi) + zb sqrt(psi - delta^2),
    whose root is delta = (a s + sqrt(a^2 s^2 - (s^2 + zb^2)(a^2 - zb^2 psi))) / (s^2 + zb^2)
    with s = sqrt(n), a = za sqrt(psi). The difference can never exceed psi:
    when even delta = psi is not detectable the answer is inf."""
    if n < 1:
        raise ValueError(f"n={n} must be at least 1")
    if not 0 < discordance <= 1:
        raise ValueError(f"discordance={discordance} must be in (0, 1]")
    za, zb = sps.norm.ppf(1 - alpha / 2), sps.norm.ppf(power)
    s, a, psi = math.sqrt(n), za * math.sqrt(discordance), discordance
    disc = a * a * s * s - (s * s + zb * zb) * (a * a - zb * zb * psi)
    delta = (a * s + math.sqrt(max(disc, 0.0))) / (s * s + zb * zb)
    return delta if delta <= psi + 1e-12 else float("inf")


def _check_rates(delta: float, discordance: float) -> None:
    if not 0 < discordance <= 1:
        raise ValueError(f"discordance={discordance} must be in (0, 1]")
    if not 0 < abs(delta) <= discordance:
        raise ValueError(f"delta={delta} must be non-zero and at most the discordance ({discordance})")


# -- paired bootstrap -------------------------------------------------------------
BOOTSTRAP_METRICS = ("macro_f1", "balanced_accuracy", "accuracy")


@dataclass(frozen=True)
class BootstrapDiff:
    metric: str
    difference: float  # observed score(A) - score(B)
    low: float  # percentile CI of the difference
    high: float
    p_value: float  # two-sided, H0: no difference
    n_boot: int


def class_counts(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int, idx: np.ndarray | None = None):
    """Per-class true positives, true counts and predicted counts, (B, C) each
    for a (B, N) index array of resamples (or (1, C) for the sample as is)."""
    y_true, y_pred = np.asarray(y_true, np.int64), np.asarray(y_pred, np.int64)
    if idx is None:
        idx = np.arange(y_true.size)[None, :]
    rows = idx.shape[0]
    offset = (np.arange(rows, dtype=np.int64) * num_classes)[:, None]
    t, p = y_true[idx] + offset, y_pred[idx] + offset  # (B, N), class codes shifted per resample
    size = rows * num_classes
    tp = np.bincount(t.ravel(), weights=(t == p).ravel(), minlength=size)
    true = np.bincount(t.ravel(), minlength=size)
    pred = np.bincount(p.ravel(), minlength=size)
    return (tp.reshape(rows, num_classes).astype(float), true.reshape(rows, num_classes).astype(float),
            pred.reshape(rows, num_classes).astype(float))


def _as_runs(preds: np.ndarray, n: int) -> np.ndarray:
    preds = np.asarray(preds, np.int64)
    preds = preds[None, :] if preds.ndim == 1 else preds
    if preds.ndim != 2 or preds.shape[1] != n:
        raise ValueError(f"predictions must be (N,) or (runs, N) with N={n} test items; got {preds.shape}")
    return preds


def bootstrap_scores(
    y_true: np.ndarray,
    preds: Mapping[str, np.ndarray],
    num_classes: int | None = None,
    metrics: Sequence[str] = ("macro_f1", "balanced_accuracy"),
    n_boot: int = 2000,
    seed: int = 0,
    chunk: int = 4_000_000,
    subsets: Mapping[str, tuple[int, ...]] | None = None,
) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """Observed and bootstrap-replicate scores of several models on one test
    set, every model scored on the same resampled items (so any two of them
    form a paired comparison). `preds` maps a model to its predictions, (N,)
    or (runs, N): a model's score is the mean of its runs' scores. Returns
    (observed[model][metric], replicates[model][metric] of shape (n_boot,))."""
    y_true = np.asarray(y_true, np.int64)
    n = y_true.size
    runs = {name: _as_runs(p, n) for name, p in preds.items()}
    subsets = dict(subsets or {})  # name -> class indices: the mean F1 over those classes
    unknown = set(metrics) - set(BOOTSTRAP_METRICS) - set(subsets)
    if unknown:
        raise ValueError(f"unknown metric(s) {sorted(unknown)}; choose from {', '.join([*BOOTSTRAP_METRICS, *subsets])}")
    subsets = {k: v for k, v in subsets.items() if k in metrics}
    if n_boot < 1:
        raise ValueError(f"n_boot={n_boot} must be at least 1")
    c = int(num_classes or max([int(y_true.max())] + [int(p.max()) for p in runs.values()]) + 1)

    def score(p: np.ndarray, idx: np.ndarray | None) -> dict[str, np.ndarray]:
        per_run = [scores_from_counts(*class_counts(y_true, row, c, idx), subsets=subsets) for row in p]
        return {m: np.mean([r[m] for r in per_run], axis=0) for m in metrics}

    observed = {name: {m: float(v[0]) for m, v in score(p, None).items()} for name, p in runs.items()}
    rng = np.random.default_rng(seed)
    step = max(1, chunk // max(n, 1))
    parts: dict[str, dict[str, list[np.ndarray]]] = {name: {m: [] for m in metrics} for name in runs}
    for start in range(0, n_boot, step):
        idx = rng.integers(0, n, size=(min(step, n_boot - start), n))
        for name, p in runs.items():
            for m, v in score(p, idx).items():
                parts[name][m].append(v)
    replicates = {name: {m: np.concatenate(v) for m, v in by.items()} for name, by in parts.items()}
    return observed, replicates


def bootstrap_difference(metric: str, observed_a: float, observed_b: float, replicates_a: np.ndarray,
                         replicates_b: np.ndarray, confidence: float = 0.95) -> BootstrapDiff:
    """score(A) - score(B) from paired replicates: the percentile CI, and the
    two-sided p-value of the replicates shifted to the null,
    p = (1 + #{|d* - d| >= |d|}) / (B + 1), d the observed difference."""
    d = np.asarray(replicates_a) - np.asarray(replicates_b)
    d_obs = float(observed_a - observed_b)
    extreme = int(np.sum(np.abs(d - d_obs) >= abs(d_obs) - 1e-12))
    tail = (1 - confidence) / 2
    low, high = np.quantile(d, [tail, 1 - tail])
    return BootstrapDiff(metric, d_obs, float(low), float(high), (1 + extreme) / (d.size + 1), int(d.size))


def paired_bootstrap(
    y_true: np.ndarray,
    preds_a: np.ndarray,
    preds_b: np.ndarray,
    num_classes: int | None = None,
    metrics: Sequence[str] = ("macro_f1", "balanced_accuracy"),
    n_boot: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
    chunk: int = 4_000_000,
) -> dict[str, BootstrapDiff]:
    """Paired bootstrap of score(A) - score(B) on one test set.

    `preds_a` / `preds_b` are one model's predictions (N,) or several runs'
    (runs, N), e.g. one per seed: a model's score is then the mean of its runs'
    scores. Each replicate resamples the N test items with replacement (the
    same items for A and B, so the comparison stays paired) and recomputes
    every score. CI: the percentile interval of the replicate differences.
    p-value (two-sided): the replicates shifted to the null, p = (1 + #{|d* -
    d| >= |d|}) / (B + 1), d the observed difference."""
    observed, reps = bootstrap_scores(y_true, {"a": preds_a, "b": preds_b}, num_classes, metrics, n_boot, seed, chunk)
    return {m: bootstrap_difference(m, observed["a"][m], observed["b"][m], reps["a"][m], reps["b"][m], confidence)
            for m in metrics}


# -- ranking -----------------------------------------------------------------
def holm(p_values: Sequence[float]) -> list[float]:
    """Holm's step-down adjustment (controls the family-wise error rate):
    sort the m p-values, multiply the i-th smallest (i from 0) by m - i, take
    the running maximum, cap at 1. NaNs stay NaN and are not counted in m."""
    p = np.asarray(p_values, dtype=float)
    out = np.full(p.shape, np.nan)
    valid = np.flatnonzero(~np.isnan(p))
    m = valid.size
    running = 0.0
    for i, j in enumerate(valid[np.argsort(p[valid], kind="stable")]):
        running = max(running, min(1.0, (m - i) * p[j]))
        out[j] = running
    return out.tolist()


@dataclass(frozen=True)
class Ranked:
    name: str
    rank: int
    mean: float
    low: float  # t-interval over the values (seeds)
    high: float
    n: int
    p_value: float  # raw p-value against the best (NaN for the best, or untestable)
    p_adjusted: float  # Holm-adjusted over the comparisons with the best
    tied_with_best: bool  # not significantly different from the best (the best itself too)


def rank_models(
    scores: Mapping[str, Sequence[float]],
    p_values: Mapping[str, float] | None = None,
    alpha: float = 0.05,
    higher_is_better: bool = True,
) -> list[Ranked]:
    """Rank models by their mean score and test each against the best.

    `scores` maps a model to its values (one per seed). `p_values` maps every
    model but the best to the p-value of its comparison with the best; without
    it, Welch's t-test on the values is used. The k - 1 p-values are
    Holm-adjusted; a model is marked tied with the best unless its adjusted
    p-value is below `alpha` (an untestable comparison, e.g. one seed, stays
    tied: no difference has been shown)."""
    if not scores:
        return []
    summaries = {name: mean_ci(v) for name, v in scores.items()}
    sign = 1 if higher_is_better else -1
    order = sorted(summaries, key=lambda k: (-sign * summaries[k].mean, k))
    best = order[0]
    others = order[1:]
    if p_values is None:
        raw = [welch_p(scores[best], scores[k]) for k in others]
    else:
        raw = [float(p_values.get(k, float("nan"))) for k in others]
    adjusted = holm(raw)
    rows = [Ranked(best, 1, summaries[best].mean, summaries[best].low, summaries[best].high, summaries[best].n,
                   float("nan"), float("nan"), True)]
    for i, (name, p, q) in enumerate(zip(others, raw, adjusted), start=2):
        s = summaries[name]
        rows.append(Ranked(name, i, s.mean, s.low, s.high, s.n, p, q, not (q == q and q < alpha)))
    return rows


# -- honest intervals with few seeds -------------------------------------------------
MIN_SEEDS_FOR_T = 3  # below this a t-interval over seeds says nothing (t(0.975, 1) = 12.7)


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str  # "seeds (t)", "test-set bootstrap" or "none"
    clipped: bool  # the raw interval ran outside the metric's range and was cut to it
    informative: bool  # False for a t-interval over fewer than MIN_SEEDS_FOR_T seeds


def clip_interval(low: float, high: float, lo: float = 0.0, hi: float = 1.0) -> tuple[float, float, bool]:
    """The interval cut to the metric's range [lo, hi], and whether it was cut.
    NaN bounds stay NaN."""
    if math.isnan(low) or math.isnan(high):
        return low, high, False
    c_low, c_high = min(max(low, lo), hi), max(min(high, hi), lo)
    return c_low, c_high, (c_low, c_high) != (low, high)


def percentile_interval(replicates: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """The bootstrap percentile interval: the (1-c)/2 and (1+c)/2 quantiles of
    the replicates. Each replicate is a score, so the interval never leaves the
    score's range, and it needs no seed spread: it stays valid with one seed."""
    r = np.asarray(replicates, dtype=float)
    r = r[~np.isnan(r)]
    if r.size == 0:
        return float("nan"), float("nan")
    tail = (1 - confidence) / 2
    return float(np.quantile(r, tail)), float(np.quantile(r, 1 - tail))


def score_interval(values: Sequence[float], replicates: Sequence[float] | None = None, lo: float = 0.0,
                   hi: float = 1.0, confidence: float = 0.95) -> Interval:
    """An interval for a config's mean score that stays honest at small n.

    With MIN_SEEDS_FOR_T seeds or more: the t-interval over seeds, clipped to
    [lo, hi] (flagged when cut). With fewer seeds the seed interval is
    uninformative; with test-set bootstrap `replicates` (the config's score on
    resampled test items, pooled over its seeds) their percentile interval is
    used instead; without them the clipped t-interval is kept, flagged
    uninformative (NaN with one seed)."""
    ci = mean_ci(values, confidence)
    if ci.n >= MIN_SEEDS_FOR_T:
        low, high, cut = clip_interval(ci.low, ci.high, lo, hi)
        return Interval(low, high, "seeds (t)", cut, True)
    if replicates is not None and len(replicates):
        low, high = percentile_interval(replicates, confidence)
        return Interval(low, high, "test-set bootstrap", False, True)
    low, high, cut = clip_interval(ci.low, ci.high, lo, hi)
    return Interval(low, high, "seeds (t)" if ci.n == 2 else "none", cut, False)


# -- how many seeds would settle it ----------------------------------------------------
MAX_SEEDS = 1000  # beyond this the answer is "not with seeds": None


def welch_power(diff: float, sd_a: float, sd_b: float, n: int, alpha: float = 0.05) -> float:
    """Power of the two-sided Welch t-test with n seeds per config, a true mean
    difference `diff` and seed standard deviations sd_a, sd_b: the
    non-central t with ncp = |diff| / sqrt((sd_a^2 + sd_b^2) / n) and the
    Welch-Satterthwaite degrees of freedom (n-1)(sa^2 + sb^2)^2 / (sa^4 + sb^4)."""
    if n < 2:
        return float("nan")
    va, vb = sd_a**2, sd_b**2
    if va + vb == 0:
        return 1.0 if diff != 0 else float(alpha)
    df = (n - 1) * (va + vb) ** 2 / (va**2 + vb**2)
    ncp = abs(diff) / math.sqrt((va + vb) / n)
    crit = sps.t.ppf(1 - alpha / 2, df)
    return float(sps.nct.sf(crit, df, ncp) + sps.nct.cdf(-crit, df, ncp))


def seeds_to_settle(diff: float, sd_a: float, sd_b: float, alpha: float = 0.05, power: float = 0.8,
                    max_seeds: int = MAX_SEEDS) -> int | None:
    """Seeds per config for Welch's t-test over seeds to find a difference
    `diff` at `alpha` with `power`, taking the observed difference and seed
    spreads as the truth. None when it cannot be computed: no difference, a
    spread that is unknown (NaN: fewer than two seeds) or zero, or more than
    `max_seeds` seeds."""
    values = (diff, sd_a, sd_b)
    if any(v is None or math.isnan(v) for v in values) or diff == 0 or sd_a**2 + sd_b**2 == 0:
        return None
    # the normal approximation is a lower bound; walk up from it
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    n = max(2, int(z**2 * (sd_a**2 + sd_b**2) / diff**2))
    while n <= max_seeds:
        if welch_power(diff, sd_a, sd_b, n, alpha) >= power:
            return n
        n += 1
    return None


def seed_spread(values: Sequence[float]) -> float:
    """Sample standard deviation over seeds (NaN with fewer than two)."""
    x = np.asarray(values, dtype=float)
    return float(x.std(ddof=1)) if x.size >= 2 else float("nan")


# -- the finding, in one sentence ---------------------------------------------------------
@dataclass(frozen=True)
class Contest:
    """The best config against the runner-up, as the statistics left them."""
    best: str
    other: str
    metric_name: str
    diff: float  # best minus other
    low: float  # CI of the difference (NaN when unknown)
    high: float
    seeds: int  # fewest seeds of the two
    p_adjusted: float  # Holm-adjusted p-value of the comparison (NaN: untestable)
    alpha: float = 0.05
    tied: int = 0  # further configs not significantly different from the best
    configs: int = 2
    seeds_needed: int | None = None  # seeds per config that would settle it (None: cannot be computed)
    why_not_computed: str = ""  # said when seeds_needed is None


def _p_text(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def finding(c: Contest) -> str:
    """One sentence: the best config beats the runner-up (and so every other
    config), or these runs cannot tell them apart, with the difference, its
    CI, the seeds and the Holm p-value; for an undecided difference, the seeds
    that would settle it."""
    seeds = f"{c.seeds} seed" + ("s" if c.seeds != 1 else "")
    ci = "" if math.isnan(c.low) else f" [{c.low:.2f}, {c.high:.2f}]"
    p = "no p-value" if math.isnan(c.p_adjusted) else f"Holm p {_p_text(c.p_adjusted)}"
    gap = f"{c.diff:.2f} {c.metric_name}{ci} over {seeds}, {p}"
    if not math.isnan(c.p_adjusted) and c.p_adjusted < c.alpha:
        rest = ""
        if c.configs > 2:
            rest = (f", the runner-up of {c.configs} configs," if not c.tied else
                    f" (though {c.tied} lower-ranked configs are not told apart from it)")
        return f"{c.best} beats {c.other}{rest} by {gap}."
    tied = f" (nor {c.tied} more configs from {c.best})" if c.tied else ""
    if c.seeds_needed is not None:
        settle = f"; about {c.seeds_needed} seeds per config would settle it"
    else:
        settle = f"; how many seeds would settle it cannot be computed ({c.why_not_computed or 'no seed spread'})"
    return f"These runs cannot tell {c.best} from {c.other}{tied}: {c.best} leads by {gap}{settle}."
