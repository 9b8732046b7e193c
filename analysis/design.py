"""The survey design: weights, strata, clusters, finite population corrections, calibration and replicates.

A :class:`Design` carries everything the variance of an estimate depends on. Taylor
(linearization) variances follow R's ``survey`` package (Lumley 2004): the influence
values are residualized for post-stratification and raking (calibration residuals),
summed to primary sampling units, and their between-PSU variance is taken within strata
with the finite population correction; later stages add their within-PSU variance when
a finite population correction is given for them (``svyrecvar``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ._util import as_weights, column
from .weights import _rake_full

__all__ = ["Design", "Calibration", "Replicates", "LONELY_PSU_OPTIONS"]

LONELY_PSU_OPTIONS = ("fail", "remove", "certainty", "adjust", "average")


@dataclass(frozen=True, eq=False)
class Calibration:
    """One post-stratification or raking step, kept for the calibration residuals.

    ``kind`` is ``"poststratify"``, ``"rake"`` or ``"linear"``; ``codes[k]`` holds the cell
    (category) of every row for margin k; ``step_weights[k]`` the weights right after margin
    k was met (for post-stratification the weights after the step); ``old_weights`` the
    weights before; for linear calibration ``matrix`` is the calibration model matrix.
    """

    kind: str
    names: tuple[str, ...]
    codes: tuple[np.ndarray, ...]
    step_weights: tuple[np.ndarray, ...]
    old_weights: np.ndarray
    matrix: np.ndarray | None = None


@dataclass(frozen=True, eq=False)
class Replicates:
    """Replicate analysis weights ``(n, R)`` and how to combine the replicate estimates.

    Variance = ``scale * sum_r rscales[r] * (theta_r - center)**2`` where center is the
    full-sample estimate (``mse=True``) or the mean of the replicates (``mse=False``).
    """

    weights: np.ndarray
    scale: float
    rscales: np.ndarray
    mse: bool = False
    kind: str = "JK1"
    df: int | None = None


def _codes(values: np.ndarray, what: str = "design variable") -> np.ndarray:
    codes, _ = pd.factorize(pd.Series(values, dtype=object) if values.dtype.kind not in "iuf" else pd.Series(values), sort=True)
    if (codes < 0).any():
        raise ValueError(f"{what} has missing values in {int((codes < 0).sum())} rows: every row needs one")
    return codes.astype(np.int64)


@dataclass(eq=False)
class CalibrationCells:
    """One calibration step on cells, for the segment-sum variance path.

    The calibration residual of influence values ``x_id = z_i [d_i = d]`` is
    ``x_id - w0_i a[cell_i, d]`` (see :meth:`Design.calibration_residuals`); ``correction``
    returns ``a`` from cell sums, so no respondents x domains matrix is formed.
    """

    kind: str
    cell: np.ndarray
    ncell: int
    cell_margin: list[np.ndarray]
    sizes: list[int]
    f_steps: list[np.ndarray]
    count: np.ndarray
    w0: np.ndarray

    def correction(self, z: np.ndarray, dom: np.ndarray, nd: int) -> np.ndarray:
        """``a`` (ncell, nd) from influence values ``z`` whose domain is ``dom``."""
        keys = self.cell * nd + dom
        if self.kind == "poststratify":
            sums = np.bincount(keys, weights=z, minlength=self.ncell * nd).reshape(self.ncell, nd)
        else:
            w0_safe = np.where(self.w0 == 0, 1.0, self.w0)
            v = np.where(self.w0 == 0, 0.0, z / w0_safe)
            sums = np.bincount(keys, weights=v, minlength=self.ncell * nd).reshape(self.ncell, nd)
        return self.correction_from_sums(sums)

    def correction_from_sums(self, sums: np.ndarray) -> np.ndarray:
        """``a`` from cell x domain sums: of ``z`` (post-stratification) or ``z / w0`` (raking)."""
        nd = sums.shape[1]
        if self.kind == "poststratify":
            w0g = self.w0_per_cell
            return np.divide(sums, w0g[:, None], out=np.zeros_like(sums), where=w0g[:, None] > 0)
        a = np.zeros((self.ncell, nd))
        for _ in range(10):
            for k, mc in enumerate(self.cell_margin):
                fk = self.f_steps[k]
                kcat = self.sizes[k]
                cur = (sums - self.count[:, None] * a) / fk[:, None]
                gsum = np.stack([np.bincount(mc, weights=cur[:, j], minlength=kcat) for j in range(nd)], axis=1)
                gcnt = np.bincount(mc, weights=self.count, minlength=kcat)
                gmean = np.divide(gsum, gcnt[:, None], out=np.zeros_like(gsum), where=gcnt[:, None] > 0)
                a = a + fk[:, None] * gmean[mc]
        return a

    @cached_property
    def w0_per_cell(self) -> np.ndarray:
        return np.bincount(self.cell, weights=self.w0, minlength=self.ncell)

    def stratum_cell_sums(self, stratum_of_row: np.ndarray, nstrat: int) -> tuple[np.ndarray, np.ndarray]:
        keys = stratum_of_row * self.ncell + self.cell
        w0h = np.bincount(keys, weights=self.w0, minlength=nstrat * self.ncell).reshape(nstrat, self.ncell)
        w0sq = np.bincount(keys, weights=self.w0 * self.w0, minlength=nstrat * self.ncell).reshape(nstrat, self.ncell)
        return w0h, w0sq

    def unit_cell_matrix(self, unit_of_row: np.ndarray, nunits: int) -> sp.csr_matrix:
        return sp.csr_matrix((self.w0, (unit_of_row, self.cell)), shape=(nunits, self.ncell))


@dataclass(frozen=True, eq=False)
class StageInfo:
    """Index structures of one sampling stage, computed once per design."""

    identity: bool
    unit_of_row: np.ndarray
    nunits: int
    stratum_of_unit: np.ndarray
    stratum_of_row: np.ndarray
    nstrat: int
    n_h: np.ndarray
    scale_h: np.ndarray
    self_rep: np.ndarray


@dataclass(frozen=True, eq=False)
class Design:
    """A survey design for estimation.

    Build it with :meth:`Design.from_data` (like R's ``svydesign``). Instances are
    immutable; :meth:`poststratify`, :meth:`rake`, :meth:`trim` and :meth:`jackknife`
    return new designs.

    Attributes
    ----------
    weights : final analysis weights (n,).
    strata : stratum code of every row (n,), all zero when unstratified.
    clusters : per sampling stage, the unit code of every row; stage-1 units are
        numbered within strata (nested), later stages within their parent unit. Without
        clusters each row is its own unit.
    popsize : per stage, the population number of units of the row's stratum (stage 1) or
        parent unit (later stages), or None when no finite population correction.
    calibrations : post-stratification and raking steps applied, in order.
    replicates : replicate weights, when the design uses them for variances.
    lonely_psu : what to do with a stratum that has one PSU: ``"fail"`` (raise),
        ``"remove"``/``"certainty"`` (contributes 0), ``"adjust"`` (center at 0 rather than
        the stratum mean), ``"average"`` (scale the others up), as R's
        ``options(survey.lonely.psu=)``.
    data : the data frame the design was built on (optional, lets estimates take column names).
    """

    weights: np.ndarray
    strata: np.ndarray
    clusters: tuple[np.ndarray, ...]
    popsize: tuple[np.ndarray | None, ...]
    calibrations: tuple[Calibration, ...] = ()
    replicates: Replicates | None = None
    lonely_psu: str = "fail"
    data: pd.DataFrame | None = field(default=None, repr=False)

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_data(
        cls,
        data: pd.DataFrame | Mapping[str, Any] | None = None,
        *,
        weights: str | Any = None,
        strata: str | Any = None,
        clusters: str | Any | Sequence[str | Any] | None = None,
        fpc: str | Any | Sequence[str | Any] | None = None,
        lonely_psu: str = "fail",
        n: int | None = None,
    ) -> Design:
        """Describe a design, like R's ``svydesign(ids=, strata=, weights=, fpc=, nest=TRUE)``.

        Parameters
        ----------
        data : data frame (or mapping of columns); column names may be given below.
        weights : sampling weights (column name or array); ones when None.
        strata : stratum of every row (stage 1 only).
        clusters : sampling unit of every row, or a list, one per stage. None: each row
            is its own unit.
        fpc : population size for each stage: the number of stage-1 units in the row's
            stratum (or in the population, unstratified), then the number of stage-2 units
            in the row's stage-1 unit, and so on. Values <= 1 are read as sampling fractions.
        lonely_psu : see the class docstring.

        Examples
        --------
        >>> d = Design.from_data({"y": [1.0, 2.0, 3.0, 4.0], "s": ["a", "a", "b", "b"]},
        ...                      strata="s", weights=[2, 2, 3, 3])
        >>> int(d.degf)
        2
        """
        if lonely_psu not in LONELY_PSU_OPTIONS:
            raise ValueError(f"unknown lonely_psu option {lonely_psu!r}: use one of {LONELY_PSU_OPTIONS}")
        frame = None
        if data is not None:
            frame = data if isinstance(data, pd.DataFrame) else pd.DataFrame(dict(data))
            nrow = len(frame)
        elif n is not None:
            nrow = n
        else:
            w_arr = np.asarray(weights)
            nrow = w_arr.shape[0]

        def get(x: Any, what: str) -> np.ndarray:
            if isinstance(x, str):
                if frame is None:
                    raise ValueError(f"{what} given as column name {x!r} but no data: pass data=")
                return column(frame, x)
            arr = np.asarray(x)
            if arr.shape[0] != nrow:
                raise ValueError(f"{what} has {arr.shape[0]} values for {nrow} rows")
            return arr

        w = as_weights(None if weights is None else np.asarray(get(weights, "weights"), dtype=np.float64), nrow)
        st = np.zeros(nrow, dtype=np.int64) if strata is None else _codes(get(strata, "strata"), f"strata {strata!r}" if isinstance(strata, str) else "strata")
        if clusters is None:
            cl_list: list[Any] = []
        elif isinstance(clusters, (list, tuple)):
            cl_list = list(clusters)
        else:
            cl_list = [clusters]
        stage_units: list[np.ndarray] = []
        parent = st
        for i, c in enumerate(cl_list):
            what = f"clusters {c!r} (stage {i + 1})" if isinstance(c, str) else f"clusters (stage {i + 1})"
            raw = _codes(get(c, what), what)
            # Nest: a unit is identified by its parent and its own label.
            stage_units.append(_codes(parent.astype(np.int64) * (int(raw.max()) + 1) + raw))
            parent = stage_units[-1]
        if not stage_units:
            stage_units = [np.arange(nrow, dtype=np.int64)]
        if fpc is None:
            pops: tuple[np.ndarray | None, ...] = tuple(None for _ in stage_units)
        else:
            f_list = list(fpc) if isinstance(fpc, (list, tuple)) else [fpc]
            if len(f_list) > len(stage_units):
                raise ValueError("more fpc columns than sampling stages: give one per stage of clusters")
            pop_list: list[np.ndarray | None] = []
            for i, unit in enumerate(stage_units):
                if i >= len(f_list):
                    pop_list.append(None)
                    continue
                f = np.asarray(get(f_list[i], f"fpc (stage {i + 1})"), dtype=np.float64)
                if not np.all(np.isfinite(f)) or np.any(f <= 0):
                    raise ValueError(f"fpc (stage {i + 1}) must be positive population sizes (or fractions in (0, 1])")
                parent_codes = st if i == 0 else stage_units[i - 1]
                n_units = _units_per_parent(parent_codes, unit)
                if np.all(f <= 1):
                    f = n_units / f
                if np.any(f < n_units - 1e-9):
                    raise ValueError(
                        f"fpc (stage {i + 1}) is smaller than the number of sampled units in a stratum: "
                        "give the population size of the stratum (R's fpc=), not a count of the sample"
                    )
                pop_list.append(f)
            pops = tuple(pop_list)
        if weights is None and any(pp is not None for pp in pops):
            # As svydesign: without weights, the selection probability is the product
            # over stages of sampled units / population units.
            prob = np.ones(nrow)
            for i, unit in enumerate(stage_units):
                if pops[i] is None:
                    continue
                parent_codes = st if i == 0 else stage_units[i - 1]
                prob *= _units_per_parent(parent_codes, unit) / pops[i]
            w = 1.0 / prob
        return cls(w, st, tuple(stage_units), pops, (), None, lonely_psu, frame)

    # ------------------------------------------------------------------ basic properties
    @property
    def n(self) -> int:
        return int(self.weights.shape[0])

    @cached_property
    def degf(self) -> int:
        """Design degrees of freedom (R's ``degf``): PSUs minus strata, or replicate rank minus 1."""
        if self.replicates is not None:
            if self.replicates.df is not None:
                return int(self.replicates.df)
            return int(np.linalg.matrix_rank(self.replicates.weights, tol=None)) - 1
        inset = self.weights != 0
        if inset.all():
            info = self._stage1
            return int(info.nunits - info.nstrat)
        return int(np.unique(self.clusters[0][inset]).size - np.unique(self.strata[inset]).size)

    def get(self, y: str | Any) -> np.ndarray:
        """A variable of the design's data by name, or an array passed through."""
        if isinstance(y, str):
            if self.data is None:
                raise ValueError(f"variable {y!r} given by name but the design has no data")
            return column(self.data, y)
        arr = np.asarray(y)
        if arr.shape[0] != self.n:
            raise ValueError(f"variable has {arr.shape[0]} values but the design has {self.n} rows")
        return arr

    def with_lonely_psu(self, option: str) -> Design:
        if option not in LONELY_PSU_OPTIONS:
            raise ValueError(f"unknown lonely_psu option {option!r}: use one of {LONELY_PSU_OPTIONS}")
        return replace(self, lonely_psu=option)

    # ------------------------------------------------------------------ weighting steps
    def _targets_data(self, data: Any | None) -> Any:
        if data is not None:
            return data
        if self.data is None:
            raise ValueError("the design has no data: pass data= with the weighting variables")
        return self.data

    def poststratify(self, column_name: str, population: Mapping[Any, float], data: Any | None = None) -> Design:
        """Post-stratify to population counts of one column (R's ``postStratify``).

        Replicate weights, when present, are post-stratified each with its own totals.
        """
        return self._calibrate("poststratify", {column_name: population}, data, tol=np.inf, max_iter=1)

    def rake(
        self,
        targets: Mapping[str, Mapping[Any, float]],
        data: Any | None = None,
        *,
        tol: float = 1e-10,
        max_iter: int = 100,
    ) -> Design:
        """Rake to population margins (R's ``rake``); replicates get the same number of sweeps."""
        return self._calibrate("rake", targets, data, tol=tol, max_iter=max_iter)

    def _calibrate(self, kind: str, targets: Mapping, data: Any | None, *, tol: float, max_iter: int) -> Design:
        d = self._targets_data(data)
        rep_w = None if self.replicates is None else self.replicates.weights
        res = _rake_full(d, targets, self.weights, tol=tol, max_iter=max_iter, replicate_weights=rep_w)
        cal = Calibration(kind, tuple(res.margins), tuple(res.codes), tuple(res.step_weights), self.weights)
        reps = self.replicates
        if reps is not None:
            reps = replace(reps, weights=res.replicate_weights, df=None)
        return replace(self, weights=res.weights, calibrations=(*self.calibrations, cal), replicates=reps)

    def calibrate(self, population: Mapping[str, float], data: Any | None = None) -> Design:
        r"""Linear (GREG) calibration to population totals (R's ``calibrate(calfun="linear")``).

        ``population`` maps each calibration variable to its population total:
        ``"(Intercept)"`` for the population size, a numeric column name for its total, or
        ``"column=level"`` for the number of units in a category. New weights
        :math:`w_i g_i` with :math:`g_i = 1 + x_i^\top\lambda`,
        :math:`\lambda = (X^\top W X)^{-1}(T - X^\top w)`, meet every total exactly (weights
        can turn negative when the totals are far from the sample's). The variance uses the
        residuals of the weighted regression on the calibration variables (Deville and
        Sarndal 1992; Lumley 2010, ch. 7).
        """
        if self.replicates is not None:
            raise ValueError("linear calibration of replicate designs is not supported: calibrate, then use Taylor variances")
        if not population:
            raise ValueError("give at least one population total to calibrate to")
        d = self._targets_data(data)
        cols, names, totals = [], [], []
        for key, total in population.items():
            if key == "(Intercept)":
                col = np.ones(self.n)
            elif "=" in key:
                var, level = key.split("=", 1)
                values = column(d, var)
                col = (np.asarray([str(v) for v in values], dtype=object) == level).astype(np.float64)
                if not col.any():
                    raise ValueError(f"calibration variable {key!r}: no respondent has {var} = {level}")
            else:
                col = pd.to_numeric(pd.Series(column(d, key)), errors="coerce").to_numpy(dtype=np.float64)
                if np.isnan(col).any():
                    raise ValueError(f"calibration variable {key!r} has missing or non-numeric values: impute them first")
            cols.append(col)
            names.append(key)
            totals.append(float(total))
        xmat = np.column_stack(cols)
        w = self.weights
        xtwx = xmat.T @ (xmat * w[:, None])
        if np.linalg.matrix_rank(xtwx) < xmat.shape[1]:
            raise ValueError(f"calibration variables {names} are collinear: drop one (e.g. the intercept or a level)")
        lam = np.linalg.solve(xtwx, np.asarray(totals) - xmat.T @ w)
        new_w = w * (1.0 + xmat @ lam)
        cal = Calibration("linear", tuple(names), (), (new_w,), w, xmat)
        return replace(self, weights=new_w, calibrations=(*self.calibrations, cal))

    def trim(self, upper: float = np.inf, lower: float = -np.inf, *, strict: bool = False) -> Design:
        """Trim weights as R's ``trimWeights`` (excess shared equally); calibration info is dropped."""
        from .weights import trim as _trim

        return replace(self, weights=_trim(self.weights, upper, lower, strict=strict), calibrations=())

    def jackknife(self, *, mse: bool = False) -> Design:
        """Jackknife replicate weights (R's ``as.svrepdesign``: JK1 unstratified, JKn stratified).

        Drops one stage-1 unit at a time and reweights the rest of its stratum by
        :math:`n_h/(n_h-1)`; JK1 scale :math:`(1-f)(n-1)/n`, JKn ``rscales`` :math:`(1-f_h)(n_h-1)/n_h`.
        """
        if self.calibrations:
            raise ValueError("make the jackknife before post-stratifying or raking, then calibrate the replicate design")
        psu = self.clusters[0]
        st = self.strata
        uniq_psu, first = np.unique(psu, return_index=True)
        psu_stratum = st[first]
        n_strata = np.unique(st).size
        pop = self.popsize[0]
        reps = np.empty((self.n, uniq_psu.size), dtype=np.float64)
        rscales = np.empty(uniq_psu.size)
        n_h = np.bincount(psu_stratum)
        for r, (p, h) in enumerate(zip(uniq_psu, psu_stratum, strict=True)):
            nh = n_h[h]
            if nh < 2:
                raise ValueError(f"stratum {h} has one PSU: the jackknife needs at least two per stratum")
            mult = np.where(st == h, nh / (nh - 1.0), 1.0)
            mult[psu == p] = 0.0
            reps[:, r] = self.weights * mult
            f = 0.0 if pop is None else float(nh / pop[first[r]])
            rscales[r] = (1.0 - f) * (nh - 1.0) / nh
        if n_strata == 1:
            scale = float(rscales[0])
            rsc = np.ones_like(rscales)
            kind = "JK1"
        else:
            scale = 1.0
            rsc = rscales
            kind = "JKn"
        return replace(self, replicates=Replicates(reps, scale, rsc, mse, kind))

    def with_replicates(self, weights: Any, *, scale: float, rscales: Any = None, mse: bool = False, kind: str = "JK1") -> Design:
        """Use given replicate analysis weights (n, R) for variances."""
        rw = np.asarray(weights, dtype=np.float64)
        if rw.ndim != 2 or rw.shape[0] != self.n:
            raise ValueError(f"replicate weights must have shape (n={self.n}, R)")
        if np.any(rw < 0) or not np.all(np.isfinite(rw)):
            raise ValueError("replicate weights must be finite and non-negative")
        rs = np.ones(rw.shape[1]) if rscales is None else np.asarray(rscales, dtype=np.float64)
        return replace(self, replicates=Replicates(rw, float(scale), rs, mse, kind))

    # ------------------------------------------------------------------ variance
    @cached_property
    def _stage1(self) -> StageInfo:
        return _stage_info(self.strata, self.clusters[0], self.popsize[0])

    @cached_property
    def all_weights_positive(self) -> bool:
        """True when no weight is zero (then answered rows and nonzero-weight rows coincide)."""
        return bool(np.all(self.weights > 0))

    @cached_property
    def _cal_cells(self) -> CalibrationCells:
        if len(self.calibrations) != 1:
            raise ValueError("the segment-sum path handles exactly one calibration step")
        return _calibration_cells(self.calibrations[0])

    @cached_property
    def _cal_stratum_sums(self) -> tuple[np.ndarray, np.ndarray]:
        info = self._stage1
        return self._cal_cells.stratum_cell_sums(info.stratum_of_row, info.nstrat)

    def calibration_stratum_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """Sums of base weights and squared base weights per (stratum, calibration cell), cached."""
        return self._cal_stratum_sums

    def calibration_cells(self) -> CalibrationCells:
        """Cell structure of the (single) calibration step, cached."""
        return self._cal_cells

    def stage_info(self, stage: int = 0) -> StageInfo:
        """Cached index structures of the first stage (strata, units, scale factors)."""
        if stage != 0:
            raise ValueError("only the first stage is cached")
        return self._stage1

    def calibration_residuals(self, x: np.ndarray) -> np.ndarray:
        """Residualize weighted influence values for the calibration steps (R's ``svyrecvar``).

        Post-stratification: :math:`x_i - w_i \\sum_{g} x / \\sum_{g} w` within each cell g.
        Raking: ten passes over the margins of :math:`x \\leftarrow x - w_k\\,\\overline{(x/w_k)}_g`
        (unweighted cell means, ``w_k`` the weights after margin k), exactly as R does.
        Computed on cell sums, so the cost is one pass over the rows per step.
        """
        x = np.asarray(x, dtype=np.float64)
        two_d = x.ndim == 2
        if not two_d:
            x = x[:, None]
        for cal in self.calibrations:
            if cal.kind == "poststratify":
                g = cal.codes[0]
                psw = cal.step_weights[0]
                oldw = cal.old_weights
                k = int(g.max()) + 1
                psw_safe = np.where((psw == 0) & (oldw == 0), 1.0, psw)
                den = np.bincount(g, weights=oldw, minlength=k)
                ratio = oldw / psw_safe
                num = _group_sums(g, x * ratio[:, None], k)
                means = np.divide(num, den[:, None], out=np.zeros_like(num), where=den[:, None] > 0)
                x = x - means[g] * psw[:, None]
            elif cal.kind == "linear":
                # R: qr.resid(qr(X * sqrt(w0)), x / (g sqrt(w0))) * g sqrt(w0)
                half = np.sqrt(cal.old_weights)
                gw = cal.step_weights[0] / np.where(cal.old_weights == 0, 1.0, cal.old_weights) * half
                xs = cal.matrix * half[:, None]
                u = x / np.where(gw == 0, 1.0, gw)[:, None]
                coef, *_ = np.linalg.lstsq(xs, u, rcond=None)
                x = (u - xs @ coef) * gw[:, None]
            else:
                x = _raking_residuals(x, cal)
        return x if two_d else x[:, 0]

    def taylor_cov(self, x: np.ndarray) -> np.ndarray:
        """Linearization covariance of totals of the weighted influence values ``x`` (n, p)."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1:
            x = x[:, None]
        x = self.calibration_residuals(x)
        return _multistage(x, self.strata, self.clusters, self.popsize, self.lonely_psu, self._stage1)


def _stage_info(strata: np.ndarray, units: np.ndarray, popsize: np.ndarray | None) -> StageInfo:
    n = units.shape[0]
    identity = bool(np.array_equal(units, np.arange(n)))
    if identity:
        unit_idx = units
        first = np.arange(n)
    else:
        _, first, unit_idx = np.unique(units, return_index=True, return_inverse=True)
    sk, str_row = np.unique(strata, return_inverse=True)
    nstrat = sk.size
    str_unit = str_row[first]
    n_h = np.bincount(str_unit, minlength=nstrat).astype(np.float64)
    if popsize is None:
        f_h = np.ones(nstrat)
    else:
        pop_h = np.zeros(nstrat)
        pop_h[str_unit] = popsize[first]
        f_h = np.where(np.isinf(pop_h), 1.0, (pop_h - n_h) / pop_h)
    scale_h = np.where(n_h > 1, f_h * n_h / np.maximum(n_h - 1, 1), f_h)
    return StageInfo(identity, unit_idx.astype(np.int64), int(first.size), str_unit.astype(np.int64),
                     str_row.astype(np.int64), nstrat, n_h, scale_h, f_h < 1e-7)


def _units_per_parent(parent: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """For every row, the number of distinct units within its parent (stratum or cluster)."""
    uniq_unit, first = np.unique(unit, return_index=True)
    counts = np.bincount(parent[first], minlength=int(parent.max()) + 1)
    return counts[parent].astype(np.float64)


def _group_sums(g: np.ndarray, x: np.ndarray, k: int) -> np.ndarray:
    out = np.empty((k, x.shape[1]))
    for j in range(x.shape[1]):
        out[:, j] = np.bincount(g, weights=x[:, j], minlength=k)
    return out


def _calibration_cells(cal: Calibration) -> CalibrationCells:
    w0 = cal.old_weights
    if cal.kind == "poststratify":
        g = cal.codes[0]
        k = int(g.max()) + 1
        return CalibrationCells("poststratify", g, k, [np.arange(k)], [k], [np.ones(k)], np.bincount(g, minlength=k).astype(np.float64), w0)
    sizes = [int(c.max()) + 1 for c in cal.codes]
    combined = np.zeros(w0.shape[0], dtype=np.int64)
    for c, k in zip(cal.codes, sizes, strict=True):
        combined = combined * k + c
    uniq, cell = np.unique(combined, return_inverse=True)
    ncell = uniq.size
    cell_margin = []
    rest = uniq.copy()
    for k in reversed(sizes):
        cell_margin.append(rest % k)
        rest = rest // k
    cell_margin.reverse()
    first = np.unique(cell, return_index=True)[1]
    w0_safe = np.where(w0 == 0, 1.0, w0)
    f_steps = [np.where(w0[first] == 0, 1.0, sw[first] / w0_safe[first]) for sw in cal.step_weights]
    count = np.bincount(cell, minlength=ncell).astype(np.float64)
    return CalibrationCells("rake", cell.astype(np.int64), ncell, cell_margin, sizes, f_steps, count, w0)


def _raking_residuals(x: np.ndarray, cal: Calibration) -> np.ndarray:
    # Work on cells (combinations of margin categories): every step subtracts w_k * (a
    # quantity constant within a margin category), and w_k / w_0 is constant within a
    # cell, so the running correction is w_0 * a[cell].
    w0 = cal.old_weights
    sizes = [int(c.max()) + 1 for c in cal.codes]
    combined = np.zeros(x.shape[0], dtype=np.int64)
    for c, k in zip(cal.codes, sizes, strict=True):
        combined = combined * k + c
    uniq, cell = np.unique(combined, return_inverse=True)
    ncell = uniq.size
    cell_margin = []
    rest = uniq.copy()
    for k in reversed(sizes):
        cell_margin.append(rest % k)
        rest = rest // k
    cell_margin.reverse()
    first = np.unique(cell, return_index=True)[1]
    w0_safe = np.where(w0 == 0, 1.0, w0)
    # F_k per cell: step weight over base weight (constant within a cell).
    f_steps = []
    for sw in cal.step_weights:
        f_steps.append(np.where(w0[first] == 0, 1.0, sw[first] / w0_safe[first]))
    # v = x / w0; cell sums of v and counts.
    v0 = x / w0_safe[:, None]
    v0[w0 == 0] = 0.0
    vsum = _group_sums(cell, v0, ncell)
    cnt = np.bincount(cell, minlength=ncell).astype(np.float64)
    a = np.zeros((ncell, x.shape[1]))
    for _ in range(10):
        for k, mc in enumerate(cell_margin):
            fk = f_steps[k]
            kcat = sizes[k]
            cur = vsum - cnt[:, None] * a  # cell sums of v
            gsum = _group_sums(mc, cur / fk[:, None], kcat)
            gcnt = np.bincount(mc, weights=cnt, minlength=kcat)
            gmean = np.divide(gsum, gcnt[:, None], out=np.zeros_like(gsum), where=gcnt[:, None] > 0)
            a = a + fk[:, None] * gmean[mc]
    return x - w0[:, None] * a[cell]


def _multistage(
    x: np.ndarray,
    strata: np.ndarray,
    clusters: tuple[np.ndarray, ...],
    popsize: tuple[np.ndarray | None, ...],
    lonely: str,
    info: StageInfo | None = None,
) -> np.ndarray:
    """R's ``multistage``: stage-1 variance plus, when fpcs are given, later stages scaled by n/N."""
    v = _onestage(x, strata, clusters[0], popsize[0], lonely, None, stage=1, info=info)
    if popsize[0] is None or len(clusters) < 2:
        return v
    # Later stages: strata are the parent units; each contributes times the parent's sampling fraction.
    mult = np.ones(x.shape[0])
    parent_strata = strata
    for s in range(1, len(clusters)):
        pop_prev = popsize[s - 1]
        if pop_prev is None:
            break
        n_prev = _units_per_parent(parent_strata, clusters[s - 1])
        mult = mult * n_prev / pop_prev
        v = v + _onestage(x, clusters[s - 1], clusters[s], popsize[s], lonely, mult, stage=s + 1)
        if popsize[s] is None:
            break
        parent_strata = clusters[s - 1]
    return v


def _onestage(
    x: np.ndarray,
    strata: np.ndarray,
    units: np.ndarray,
    popsize: np.ndarray | None,
    lonely: str,
    row_mult: np.ndarray | None,
    stage: int,
    info: StageInfo | None = None,
) -> np.ndarray:
    """Between-unit variance within strata, R's ``onestage``/``onestrat`` for all strata at once."""
    n, p = x.shape
    if info is None:
        info = _stage_info(strata, units, popsize)
    nu, nstrat = info.nunits, info.nstrat
    ustr_code = info.stratum_of_unit
    n_h = info.n_h
    if info.identity:
        totals = x
    else:
        ind = sp.csr_matrix((np.ones(n), (info.unit_of_row, np.arange(n))), shape=(nu, n))
        totals = np.asarray(ind @ x)
    mult_h = np.ones(nstrat)
    if row_mult is not None:
        first_row = np.zeros(nu, dtype=np.int64)
        first_row[info.unit_of_row[::-1]] = np.arange(n)[::-1]
        mult_h[ustr_code] = row_mult[first_row]
    scale_h = info.scale_h * mult_h
    sums = np.empty((nstrat, p))
    for j in range(p):
        sums[:, j] = np.bincount(ustr_code, weights=totals[:, j], minlength=nstrat)
    means = sums / n_h[:, None]
    lonely_h = n_h == 1
    centered = totals - means[ustr_code]
    if lonely == "adjust":
        centered[lonely_h[ustr_code]] = totals[lonely_h[ustr_code]]
    self_rep = info.self_rep
    sk = np.arange(nstrat)
    if (lonely_h & ~self_rep).any() and lonely == "fail":
        bad = sk[lonely_h & ~self_rep][:5].tolist()
        raise ValueError(
            f"stratum code(s) {bad} have only one PSU at stage {stage}: choose lonely_psu="
            "'remove', 'adjust', 'average' or 'certainty', or collapse strata"
        )
    ok_h = ~self_rep
    if lonely == "average":
        ok_h = ok_h & ~(lonely_h & ~self_rep)
    wt = np.where(ok_h, scale_h, 0.0)[ustr_code]
    c = centered * np.sqrt(wt)[:, None]
    v = c.T @ c
    if lonely == "average" and (lonely_h & ~self_rep).any():
        nok = nstrat - int((lonely_h & ~self_rep).sum())
        v = v * nstrat / max(nok, 1)
    return v
