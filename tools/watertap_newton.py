"""A damped Newton solver for square Pyomo models, used in place of IPOPT.

WaterTAP solves its unit models with IPOPT. The IPOPT executable (and the ASL library that
pynumero needs for cyipopt) come from IDAES's binary extensions, downloaded from GitHub by
`idaes get-extensions`; that download is not possible on machines that reach only the package
registries (Debian ships libipopt 3.11 without the AMPL interface). A NanofiltrationDSPMDE0D
model with its degrees of freedom fixed is a square system of equations, so Newton's method
on WaterTAP's own constraints gives the same solution, and to a tighter tolerance than IPOPT's
default 1e-8 (each case's largest scaled residual is stored with its reference values).

Jacobians come from Pyomo's reverse-mode symbolic differentiation of each constraint body;
variables and constraints are scaled with the IDAES scaling factors the model carries.
"""

import math
import sys

import numpy as np
from pyomo.core.expr.calculus.derivatives import Modes, differentiate
from pyomo.core.expr.visitor import identify_variables
from pyomo.environ import Constraint, value
from pyomo.opt import SolverResults, SolverStatus, TerminationCondition
import idaes.core.util.scaling as iscale


class NewtonSolver:
    """Pyomo-solver-like object: `solve(block)` solves the block's active equality constraints
    for its unfixed variables (the system must be square) and returns SolverResults."""

    def __init__(self, tol=1e-13, max_iter=200, verbose=False):
        self.tol = tol
        self.max_iter = max_iter
        self.verbose = verbose
        self.options = {}
        self.last_residual = math.nan

    def _log(self, text):
        # IDAES captures stdout during solves; the original stderr still reaches the user.
        sys.__stderr__.write(text + "\n")
        sys.__stderr__.flush()

    def available(self, exception_flag=True):
        return True

    def solve(self, blk, tee=False, **kwargs):
        cons = [
            c
            for c in blk.component_data_objects(Constraint, active=True, descend_into=True)
            if c.equality
        ]
        seen, vars_ = set(), []
        con_vars = []
        for c in cons:
            vs = [v for v in identify_variables(c.body, include_fixed=False)]
            con_vars.append(vs)
            for v in vs:
                if id(v) not in seen:
                    seen.add(id(v))
                    vars_.append(v)
        res = SolverResults()
        if len(vars_) != len(cons):
            # Not square (e.g. a property block with nothing to solve): nothing to do only if
            # there are no constraints.
            if not cons:
                res.solver.status = SolverStatus.ok
                res.solver.termination_condition = TerminationCondition.optimal
                return res
            raise ValueError(
                f"NewtonSolver needs a square system: {len(cons)} equations, {len(vars_)} unknowns"
            )
        index = {id(v): k for k, v in enumerate(vars_)}
        sv = np.array([iscale.get_scaling_factor(v, default=1.0) for v in vars_])
        sc = np.array([iscale.get_scaling_factor(c, default=1.0) for c in cons])
        lo = np.array([-np.inf if v.lb is None else value(v.lb) for v in vars_])
        hi = np.array([np.inf if v.ub is None else value(v.ub) for v in vars_])

        def get():
            return np.array([value(v) for v in vars_], dtype=float)

        def put(x):
            for v, xv in zip(vars_, x):
                v.set_value(float(xv), skip_validation=True)

        def resid():
            r = np.empty(len(cons))
            for i, c in enumerate(cons):
                try:
                    r[i] = (value(c.body) - value(c.upper)) * sc[i]
                except (ValueError, OverflowError, ZeroDivisionError):
                    return None
            return r if np.all(np.isfinite(r)) else None

        def jac():
            n = len(cons)
            j = np.zeros((n, n))
            for i, c in enumerate(cons):
                vs = con_vars[i]
                if not vs:
                    continue
                try:
                    ders = differentiate(c.body, wrt_list=vs, mode=Modes.reverse_numeric)
                except Exception:
                    # Expressions Pyomo cannot differentiate (Expr_if): central differences.
                    ders = []
                    for v in vs:
                        x0 = value(v)
                        h = 1e-7 * max(abs(x0), 1e-8)
                        v.set_value(x0 + h, skip_validation=True)
                        fp = value(c.body)
                        v.set_value(x0 - h, skip_validation=True)
                        fm = value(c.body)
                        v.set_value(x0, skip_validation=True)
                        ders.append((fp - fm) / (2 * h))
                for v, d in zip(vs, ders):
                    j[i, index[id(v)]] += d * sc[i]
            return j / sv[None, :]  # columns in scaled variables

        x = get()
        x = np.where(np.isfinite(x), x, 0.0)
        put(x)
        r = resid()
        if r is None:
            raise ValueError("residual undefined at the starting point")
        for it in range(self.max_iter):
            f0 = np.max(np.abs(r))
            if self.verbose:
                self._log(f"  newton {it}: max scaled residual {f0:.3e} ({blk.name}, {len(cons)} eq)")
            if f0 < self.tol:
                break
            step = np.linalg.solve(jac(), -r) / sv
            # Stay inside variable bounds: shorten each component that would cross its bound
            # (to 0.9 of the distance), the rest of the step unchanged.
            target = x + step
            target = np.where(target < lo, x - 0.9 * (x - lo), target)
            target = np.where(target > hi, x + 0.9 * (hi - x), target)
            step = target - x
            alpha = 1.0
            accepted = False
            while alpha > 1e-10:
                put(x + alpha * step)
                rt = resid()
                if rt is not None and np.linalg.norm(rt) < (1 - 1e-4 * alpha) * np.linalg.norm(r):
                    x, r, accepted = x + alpha * step, rt, True
                    break
                alpha *= 0.5
            if not accepted:
                put(x)
                break
        put(x)
        self.last_residual = float(np.max(np.abs(r)))
        ok = self.last_residual < max(self.tol, 1e-9)
        res.solver.status = SolverStatus.ok if ok else SolverStatus.warning
        res.solver.termination_condition = (
            TerminationCondition.optimal if ok else TerminationCondition.infeasible
        )
        return res
