//! The training objective of the conventions,
//! `R(θ) = (1/n) Σ_i w_i l(z_i, θ) + (λ/2) ‖W‖²`,
//! with its gradient, exact Hessian, Hessian-vector product and Gauss–Newton matrix
//! `G = (1/n) Σ_i w_i J_iᵀ (∂²l_i/∂z²) J_i + λ I_W` (J_i = ∂z_i/∂θ). `n` stays the
//! number of rows when a weight is set to 0 (removal), and biases are never
//! regularised. For a linear model `z` is linear in θ, so `G` is the Hessian; for a
//! network the Hessian adds `Σ_c (∂l/∂z_c) ∇²z_c` and can be indefinite.

use super::{Model, ModelError, ModelKind, Net, Work};
use crate::engine::data::Dataset;
use ndarray::{s, Array2, ArrayView2, Axis};

/// Rows of features with their targets, row-major, ready for the hot loops.
#[derive(Debug, Clone, PartialEq)]
pub struct Design {
    d: usize,
    rows: Vec<f64>,
    /// Targets, one per row.
    pub y: Vec<f64>,
}

impl Design {
    /// The rows of `data`.
    pub fn from_dataset(data: &Dataset) -> Self {
        Self::new(data.d(), data.rows_flat(), data.y.clone())
    }

    /// From a dataset given up for it: its rows are moved, not copied.
    pub fn from_owned(data: Dataset) -> Self {
        let d = data.d();
        let (rows, y) = data.into_rows();
        Self::new(d, rows, y)
    }

    /// From a row-major buffer of `y.len()` rows of `d` features (a buffer and a target
    /// of different lengths are cut to the rows they both hold).
    pub fn new(d: usize, mut rows: Vec<f64>, mut y: Vec<f64>) -> Self {
        let n = y.len().min(rows.len().checked_div(d).unwrap_or(y.len()));
        rows.truncate(n * d);
        y.truncate(n);
        Self { d, rows, y }
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.y.len()
    }

    /// Number of features.
    pub fn d(&self) -> usize {
        self.d
    }

    /// Every row's features, row after row.
    pub fn rows(&self) -> &[f64] {
        &self.rows
    }

    /// Features of row `i`.
    pub fn row(&self, i: usize) -> &[f64] {
        &self.rows[i * self.d..(i + 1) * self.d]
    }

    /// All features as an n × d view (`None` only if the invariant of [`Design::new`]
    /// were broken).
    pub fn matrix(&self) -> Option<ArrayView2<'_, f64>> {
        ArrayView2::from_shape((self.n(), self.d), &self.rows).ok()
    }
}

/// A model, its training rows, per-example weights and the L2 strength λ.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    /// The model's shape.
    pub model: Model,
    /// Training rows.
    pub train: Design,
    /// Per-example weights `w_i` (1 by default; 0 removes a row).
    pub weights: Vec<f64>,
    /// L2 strength λ on every non-bias parameter.
    pub lambda: f64,
    /// Which parameters are weights (regularised), cached from the model.
    is_weight: Vec<bool>,
}

impl Problem {
    /// Check that the targets fit the model and build the objective with unit weights.
    /// Every class of a classifier needs at least one training row: without one, its
    /// bias runs to −∞ and every number about it would be rounding noise.
    pub fn new(model: Model, data: &Dataset, lambda: f64) -> Result<Self, ModelError> {
        Self::check(model, data)?;
        Ok(Self::over(model, Design::from_dataset(data), lambda))
    }

    /// [`Problem::new`] over a dataset given up for it: its rows become the problem's
    /// without a copy (a large upload's training rows are most of its memory).
    pub fn from_owned(model: Model, data: Dataset, lambda: f64) -> Result<Self, ModelError> {
        Self::check(model, &data)?;
        Ok(Self::over(model, Design::from_owned(data), lambda))
    }

    /// Whether `data`'s targets fit `model`: rows, and every class of a classifier.
    fn check(model: Model, data: &Dataset) -> Result<(), ModelError> {
        if data.n() == 0 {
            return Err(ModelError::NoRows);
        }
        let _ = Model::new(model.kind, data.d(), data.n_classes())?;
        if model.kind != ModelKind::Linear {
            let k = data.n_classes();
            let mut count = vec![0usize; k];
            for &y in &data.y {
                if let Some(c) = count.get_mut(y as usize) {
                    *c += 1;
                }
            }
            if let Some(class) = count.iter().position(|&c| c == 0) {
                return Err(ModelError::EmptyClass { class: data.label_text(class as f64) });
            }
        }
        Ok(())
    }

    /// The objective of `model` over `train` with unit weights.
    fn over(model: Model, train: Design, lambda: f64) -> Self {
        Self {
            model,
            weights: vec![1.0; train.n()],
            train,
            lambda: lambda.max(0.0),
            is_weight: model.weight_mask(),
        }
    }

    /// Number of training rows `n`.
    pub fn n(&self) -> usize {
        self.train.n()
    }

    /// The same objective over every k-th row only (rows 0, k, 2k, …, with their
    /// weights; averaged over the rows kept, so its Hessian estimates the full one).
    /// `None` for k < 2.
    pub fn every_kth_row(&self, k: usize) -> Option<Problem> {
        if k < 2 {
            return None;
        }
        let d = self.train.d;
        let kept: Vec<usize> = (0..self.n()).step_by(k).collect();
        let rows = kept.iter().flat_map(|&i| self.train.row(i).iter().copied()).collect();
        let y = kept.iter().map(|&i| self.train.y[i]).collect();
        let weights = kept.iter().map(|&i| self.weights[i]).collect();
        Some(Problem { train: Design::new(d, rows, y), weights, is_weight: self.is_weight.clone(), ..*self })
    }

    /// Number of parameters P.
    pub fn n_params(&self) -> usize {
        self.model.n_params()
    }

    /// Orthonormal directions along which `R` is exactly flat, whatever the data:
    /// for softmax, the same shift of every class's bias (the probabilities do not
    /// change and biases are not regularised), and with λ = 0 the same shift of every
    /// class's weight on each input of the output layer too (d + 1 directions for the
    /// convex model). None for other models.
    pub fn null_directions(&self) -> Vec<Vec<f64>> {
        let m = &self.model;
        if m.kind != ModelKind::Softmax {
            return vec![];
        }
        let s = 1.0 / (m.k as f64).sqrt();
        self.gauge_columns()
            .map(|j| {
                let mut u = vec![0.0; m.n_params()];
                (0..m.k).for_each(|k| u[m.output_param(k, j)] = s);
                u
            })
            .collect()
    }

    /// Inputs of the softmax output layer whose weights (across classes) carry a null
    /// direction; the last is the bias.
    fn gauge_columns(&self) -> std::ops::RangeInclusive<usize> {
        let j = self.model.output_inputs();
        if self.lambda == 0.0 {
            0..=j
        } else {
            j..=j
        }
    }

    /// Move `theta` to the gauge of the conventions (softmax only; no change in any
    /// prediction): `Σ_k b_k = 0`, and with λ = 0 also `Σ_k w_k = 0`.
    pub fn fix_gauge(&self, theta: &mut [f64]) {
        let m = &self.model;
        if m.kind != ModelKind::Softmax || theta.len() != m.n_params() {
            return;
        }
        for j in self.gauge_columns() {
            let mean = (0..m.k).map(|k| theta[m.output_param(k, j)]).sum::<f64>() / m.k as f64;
            (0..m.k).for_each(|k| theta[m.output_param(k, j)] -= mean);
        }
    }

    /// The fitting tolerance for this model: `tol`, or 1e-8 for a network (the
    /// conventions' default for non-convex fits), whichever is looser.
    pub fn tolerance(&self, tol: f64) -> f64 {
        match self.model.net {
            Net::Linear => tol,
            Net::Mlp(_) => tol.max(MLP_TOL),
        }
    }

    /// The training budget of an early-stopped network (`None`: trained to convergence).
    pub fn early_stop(&self) -> Option<usize> {
        match self.model.net {
            Net::Mlp(s) if s.train_steps > 0 => Some(s.train_steps),
            _ => None,
        }
    }

    /// Whether parameter `p` is a weight (regularised).
    pub fn is_weight(&self, p: usize) -> bool {
        self.is_weight.get(p).copied().unwrap_or(false)
    }

    /// The size of the terms that `∇R(θ)` sums, per parameter:
    /// `s_p = (1/n) Σ_i w_i |∂l_i/∂θ_p| + λ |θ_p|` (weights only). Rounding in the sum is
    /// about `ε · s_p`, so convergence is judged relative to it (see
    /// [`scaled_norm`]): a gradient entry of 1e-6 is at the rounding floor when the
    /// features are near 1e5, and far from it when they are standardised.
    pub fn gradient_scale(&self, theta: &[f64], out: &mut [f64]) {
        let m = &self.model;
        out.fill(0.0);
        let mut g = vec![0.0; m.n_params()];
        self.each_weighted_dz(theta, |work, dz| match m.net {
            Net::Linear => add_linear_scale(m, dz, work.features(), out),
            Net::Mlp(_) => {
                g.fill(0.0);
                m.add_vjp(theta, work, dz, &mut g);
                out.iter_mut().zip(&g).for_each(|(o, v)| *o += v.abs());
            }
        });
        self.add_regulariser(theta, out, f64::abs);
    }

    fn regulariser(&self, theta: &[f64]) -> f64 {
        0.5 * self.lambda
            * theta.iter().enumerate().filter(|(p, _)| self.is_weight(*p)).map(|(_, t)| t * t).sum::<f64>()
    }

    /// `R(θ)`.
    pub fn objective(&self, theta: &[f64]) -> f64 {
        let mut work = self.model.work();
        let mut total = 0.0;
        for (i, &w) in self.weights.iter().enumerate() {
            if w != 0.0 {
                let z = self.model.forward(theta, self.train.row(i), &mut work);
                total += w * self.model.loss_at(z, self.train.y[i]);
            }
        }
        total / self.n() as f64 + self.regulariser(theta)
    }

    /// Call `f(work, w_i ∂l_i/∂z / n)` after the forward pass of every row of nonzero
    /// weight: the one pass over the data behind [`Problem::gradient`] and
    /// [`Problem::gradient_scale`].
    fn each_weighted_dz(&self, theta: &[f64], mut f: impl FnMut(&mut Work, &[f64])) {
        let (m, n) = (&self.model, self.n() as f64);
        let mut dz = vec![0.0; m.k];
        let mut work = m.work();
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let z = m.forward(theta, self.train.row(i), &mut work);
            m.derivs(z, self.train.y[i], &mut dz, None);
            dz.iter_mut().for_each(|g| *g = w * *g / n);
            f(&mut work, &dz);
        }
    }

    /// Add `λ · g(θ_p)` to every weight entry of `out` (biases are not regularised).
    fn add_regulariser(&self, theta: &[f64], out: &mut [f64], g: impl Fn(f64) -> f64) {
        for (p, o) in out.iter_mut().enumerate() {
            if self.is_weight(p) {
                *o += self.lambda * g(theta[p]);
            }
        }
    }

    /// `R(θ)`, and `∇R(θ)` into `out`, in one pass over the data.
    pub fn value_and_gradient(&self, theta: &[f64], out: &mut [f64]) -> f64 {
        out.fill(0.0);
        let value = self.each_weighted_loss_dz(theta, |work, dz| self.model.add_vjp(theta, work, dz, out));
        self.add_regulariser(theta, out, |t| t);
        value
    }

    /// `R(θ)`, `∇R(θ)` into `grad` and the size of its terms into `scale`
    /// ([`Problem::gradient_scale`]), in one pass over the data: a Newton step's trial
    /// point needs all three, and one forward pass per example instead of two.
    pub fn value_gradient_and_scale(&self, theta: &[f64], grad: &mut [f64], scale: &mut [f64]) -> f64 {
        let m = &self.model;
        if m.net == Net::Linear {
            return self.linear_value_gradient_and_scale(theta, grad, scale);
        }
        let mut g = vec![0.0; m.n_params()];
        grad.fill(0.0);
        scale.fill(0.0);
        // A network: its gradient's terms are summed, and their sizes, per example.
        let value = self.each_weighted_loss_dz(theta, |work, dz| {
            g.fill(0.0);
            m.add_vjp(theta, work, dz, &mut g);
            grad.iter_mut().zip(&g).for_each(|(o, v)| *o += v);
            scale.iter_mut().zip(&g).for_each(|(o, v)| *o += v.abs());
        });
        self.add_regulariser(theta, grad, |t| t);
        self.add_regulariser(theta, scale, f64::abs);
        value
    }

    /// [`Problem::value_gradient_and_scale`] of a linear model: the same sums in the
    /// same order, each row read once where it lies (Newton's trial points, the fit's
    /// hot loop).
    fn linear_value_gradient_and_scale(&self, theta: &[f64], grad: &mut [f64], scale: &mut [f64]) -> f64 {
        let (m, n) = (&self.model, self.n() as f64);
        let (r, d) = (m.row_len(), m.d);
        let (mut z, mut dz) = (vec![0.0; m.k], vec![0.0; m.k]);
        grad.fill(0.0);
        scale.fill(0.0);
        let mut total = 0.0;
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let x = self.train.row(i);
            m.linear_outputs(theta, x, &mut z);
            total += w * m.loss_derivs(&z, self.train.y[i], &mut dz, None);
            let rows = grad.chunks_exact_mut(r).zip(scale.chunks_exact_mut(r));
            for (g, (grad_row, scale_row)) in dz.iter().map(|g| w * g / n).zip(rows) {
                let size = g.abs();
                for ((o, s), xj) in grad_row[..d].iter_mut().zip(&mut scale_row[..d]).zip(x) {
                    *o += g * xj;
                    *s += size * xj.abs();
                }
                grad_row[d] += g;
                scale_row[d] += size;
            }
        }
        self.add_regulariser(theta, grad, |t| t);
        self.add_regulariser(theta, scale, f64::abs);
        total / n + self.regulariser(theta)
    }

    /// [`Problem::each_weighted_dz`] with the loss as well: calls `f(work, w_i ∂l_i/∂z / n)`
    /// for every row of nonzero weight and returns `R(θ)`.
    fn each_weighted_loss_dz(&self, theta: &[f64], mut f: impl FnMut(&mut Work, &[f64])) -> f64 {
        let (m, n) = (&self.model, self.n() as f64);
        let mut dz = vec![0.0; m.k];
        let mut work = m.work();
        let mut total = 0.0;
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let z = m.forward(theta, self.train.row(i), &mut work);
            total += w * m.loss_derivs(z, self.train.y[i], &mut dz, None);
            dz.iter_mut().for_each(|g| *g = w * *g / n);
            f(&mut work, &dz);
        }
        total / n + self.regulariser(theta)
    }

    /// `∇R(θ)` into `out` (the loss values are not computed: see [`Problem::objective`]).
    pub fn gradient(&self, theta: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        self.each_weighted_dz(theta, |work, dz| self.model.add_vjp(theta, work, dz, out));
        self.add_regulariser(theta, out, |t| t);
    }

    /// `∇R(θ_j)` of a single-output linear model for several parameter vectors at once,
    /// the j-th with training point `left_out[j]` weighted 0: column j of `thetas`
    /// (P × m) in, column j of `out` (P × m) out. Two matrix products (`Z = X W` and
    /// `Xᵀ D` with `D_rj = w_r ∂l/∂z(z_rj + b_j) / n`) instead of m passes over the
    /// data: the same sums as [`Problem::gradient`] in another order, so they round
    /// differently (last bits), and a column's bits depend only on the other columns'
    /// count, not their values. `false`, and `out` untouched, for any other model.
    pub fn gradients_leaving_out(
        &self,
        thetas: &ArrayView2<f64>,
        left_out: &[usize],
        out: &mut Array2<f64>,
    ) -> bool {
        let m = &self.model;
        let (d, cols) = (m.d, left_out.len());
        let p = m.n_params();
        let shapes_fit = thetas.dim() == (p, cols) && out.dim() == (p, cols) && p == d + 1;
        let Some(x) = self.train.matrix().filter(|_| m.k == 1 && m.net == Net::Linear && shapes_fit) else {
            return false;
        };
        if cols == 0 {
            return true;
        }
        let n = self.n();
        let mut z = Array2::<f64>::zeros((n, cols));
        crate::engine::linalg::mat_mul(1.0, &x, &thetas.slice(s![..d, ..]), false, &mut z.view_mut());
        let (n_f, biases) = (n as f64, thetas.row(d).to_vec());
        // The bias entries: the sums of D's columns, taken in the same pass.
        let mut bias = vec![0.0; cols];
        let Some(rows) = z.as_slice_mut() else { return false };
        let data = rows.chunks_exact_mut(cols).zip(&self.weights).zip(&self.train.y);
        for (r, ((row, &w), &y)) in data.enumerate() {
            if w == 0.0 {
                row.fill(0.0);
                continue;
            }
            if !m.scaled_residuals(row, &biases, y, w, n_f) {
                return false;
            }
            for (v, _) in row.iter_mut().zip(left_out).filter(|(_, &i)| i == r) {
                *v = 0.0;
            }
            bias.iter_mut().zip(row.iter()).for_each(|(b, v)| *b += *v);
        }
        crate::engine::linalg::mat_mul(1.0, &x.t(), &z.view(), false, &mut out.slice_mut(s![..d, ..]));
        out.row_mut(d).iter_mut().zip(&bias).for_each(|(o, b)| *o = *b);
        for q in (0..p).filter(|&q| self.is_weight(q)) {
            for j in 0..cols {
                out[[q, j]] += self.lambda * thetas[[q, j]];
            }
        }
        true
    }

    /// The exact Hessian `∇²R(θ)` (P × P), including λ on the weights.
    ///
    /// Linear models: block (a, b) of the outputs is `X̃ᵀ diag(c_ab) X̃` with
    /// `c_ab,i = w_i (∂²l_i/∂z_a∂z_b) / n`, assembled with matrix products (blocked and
    /// vectorised by ndarray) rather than n rank-one updates. Networks: column by column,
    /// one R-operator pass per example and parameter (the private `curvature_matrix`).
    pub fn hessian(&self, theta: &[f64]) -> Array2<f64> {
        if self.model.net != Net::Linear {
            return self.curvature_matrix(theta, true);
        }
        let (m, n) = (&self.model, self.n() as f64);
        let (k, r, d, p) = (m.k, m.row_len(), m.d, m.n_params());
        let mut h = Array2::<f64>::zeros((p, p));
        let Some(x) = self.train.matrix() else { return h };
        // Per-example second derivatives, one column per output pair (a, b), b ≥ a.
        let pairs: Vec<(usize, usize)> = (0..k).flat_map(|a| (a..k).map(move |b| (a, b))).collect();
        let mut c = Array2::<f64>::zeros((self.n(), pairs.len()));
        let (mut z, mut dz, mut d2) = (vec![0.0; k], vec![0.0; k], vec![0.0; k * k]);
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            m.outputs(theta, self.train.row(i), &mut z);
            m.derivs(&z, self.train.y[i], &mut dz, Some(&mut d2));
            for (q, &(a, b)) in pairs.iter().enumerate() {
                c[[i, q]] = w * d2[a * k + b] / n;
            }
        }
        for (q, &(a, b)) in pairs.iter().enumerate() {
            let cq = c.column(q).to_vec();
            let (xx, xb) = weighted_gram(x, &cq); // X̃ᵀ diag(c) X̃'s blocks
            let bb: f64 = cq.iter().sum();
            let (ra, rb) = (a * r, b * r);
            h.slice_mut(s![ra..ra + d, rb..rb + d]).assign(&xx);
            h.slice_mut(s![ra..ra + d, rb + d]).assign(&xb);
            h.slice_mut(s![ra + d, rb..rb + d]).assign(&xb);
            h[[ra + d, rb + d]] = bb;
            if a != b {
                h.slice_mut(s![rb..rb + d, ra..ra + d]).assign(&xx.t());
                h.slice_mut(s![rb..rb + d, ra + d]).assign(&xb);
                h.slice_mut(s![rb + d, ra..ra + d]).assign(&xb);
                h[[rb + d, ra + d]] = bb;
            }
        }
        for q in 0..p {
            if self.is_weight(q) {
                h[[q, q]] += self.lambda;
            }
        }
        h
    }

    /// The Gauss–Newton matrix `G` (P × P), including λ on the weights: positive
    /// semi-definite always; the Hessian itself for linear models.
    pub fn ggn(&self, theta: &[f64]) -> Array2<f64> {
        match self.model.net {
            Net::Linear => self.hessian(theta),
            Net::Mlp(_) => self.curvature_matrix(theta, false),
        }
    }

    /// A network's Hessian (`exact`) or Gauss–Newton matrix.
    fn curvature_matrix(&self, theta: &[f64], exact: bool) -> Array2<f64> {
        let n = self.n() as f64;
        self.curvature_matrix_by(theta, |i, dz| {
            let w = self.weights[i] / n;
            (w != 0.0)
                .then(|| (w, if exact { dz.iter().map(|d| w * d).collect() } else { vec![0.0; dz.len()] }))
        })
    }

    /// `Σ_i (h_i J_iᵀ H_out,i J_i + Σ_c g_ic ∇²z_ic) + λ I_W` for a network, where
    /// `(h_i, g_i) = terms(i, ∂l_i/∂z)` (`None` skips example i): the Hessian, the
    /// Gauss–Newton matrix, or the Hessian of another objective built on the same
    /// outputs (the PBRF's). A column per unit direction, by R-operator passes; each
    /// example's forward pass is shared by all P columns.
    pub fn curvature_matrix_by(
        &self,
        theta: &[f64],
        terms: impl Fn(usize, &[f64]) -> Option<(f64, Vec<f64>)>,
    ) -> Array2<f64> {
        let (m, p) = (&self.model, self.n_params());
        let mut h = Array2::<f64>::zeros((p, p));
        let mut work = m.work();
        let (mut e, mut col) = (vec![0.0; p], vec![0.0; p]);
        let (mut dz, mut d2) = (vec![0.0; m.k], vec![0.0; m.k * m.k]);
        for i in 0..self.n() {
            m.forward(theta, self.train.row(i), &mut work);
            m.derivs(work.z(), self.train.y[i], &mut dz, Some(&mut d2));
            let Some((scale, g)) = terms(i, &dz) else { continue };
            for j in 0..p {
                e[j] = 1.0;
                col.fill(0.0);
                add_curvature_terms(theta, &e, &d2, scale, &g, &mut work, &mut col);
                h.column_mut(j).iter_mut().zip(&col).for_each(|(a, b)| *a += b);
                e[j] = 0.0;
            }
        }
        for q in 0..p {
            if self.is_weight(q) {
                h[[q, q]] += self.lambda;
            }
        }
        // Exact in exact arithmetic; symmetrise the rounding.
        let t = h.t().to_owned();
        (&h + &t) * 0.5
    }

    /// Hessian-vector product `∇²R(θ) v` into `out`, without forming the Hessian.
    pub fn hvp(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        self.hvp_rows(theta, v, None, out);
    }

    /// Hessian-vector product of the objective restricted to `rows` (a mini-batch,
    /// averaged over its own size) or of the full objective when `None`; λ is
    /// included either way.
    pub fn hvp_rows(&self, theta: &[f64], v: &[f64], rows: Option<&[usize]>, out: &mut [f64]) {
        self.curvature_vp(theta, v, rows, true, out);
    }

    /// Gauss–Newton–vector product `G v` (the Hessian's for linear models).
    pub fn ggn_vp(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        self.curvature_vp(theta, v, None, false, out);
    }

    /// `(Σ_{i ∈ rows} w_i C_i v) / |rows| + λ v_W` (every row, over n, when `None`) with
    /// `C_i` the example's Hessian (`exact`) or Gauss–Newton matrix.
    fn curvature_vp(&self, theta: &[f64], v: &[f64], rows: Option<&[usize]>, exact: bool, out: &mut [f64]) {
        let term = |w: f64, dz: &[f64]| {
            (w != 0.0)
                .then(|| (w, if exact { dz.iter().map(|d| w * d).collect() } else { vec![0.0; dz.len()] }))
        };
        let Some(batch) = rows else {
            let n = self.n() as f64;
            return self.curvature_vp_by(theta, v, 0..self.n(), out, |i, dz| term(self.weights[i] / n, dz));
        };
        // A mini-batch drawn with replacement counts a row as often as it was drawn;
        // only the rows drawn are visited (in ascending order, as a full pass adds them).
        let n = batch.len().max(1) as f64;
        let mut drawn = batch.to_vec();
        drawn.sort_unstable();
        let counted: Vec<(usize, f64)> =
            drawn.chunk_by(|a, b| a == b).map(|c| (c[0], c.len() as f64)).collect();
        let count = |i: usize| counted.binary_search_by_key(&i, |&(j, _)| j).map_or(0.0, |k| counted[k].1);
        self.curvature_vp_by(theta, v, counted.iter().map(|&(i, _)| i), out, |i, dz| {
            term(count(i) * self.weights[i] / n, dz)
        });
    }

    /// `(Σ_i (h_i J_iᵀ H_out,i J_i + Σ_c g_ic ∇²z_ic) + λ I_W) v` with
    /// `(h_i, g_i) = terms(i, ∂l_i/∂z)` (see [`Problem::curvature_matrix_by`]), without
    /// forming the matrix. For a linear model `∇²z = 0` and only the `h` terms count.
    /// Only `rows` are visited (each once; a row left out counts as `terms` → `None`),
    /// so a mini-batch costs its size, not `n` forward passes.
    pub fn curvature_vp_by(
        &self,
        theta: &[f64],
        v: &[f64],
        rows: impl IntoIterator<Item = usize>,
        out: &mut [f64],
        terms: impl Fn(usize, &[f64]) -> Option<(f64, Vec<f64>)>,
    ) {
        let m = &self.model;
        let k = m.k;
        let mut work = m.work();
        let (mut dz, mut d2) = (vec![0.0; k], vec![0.0; k * k]);
        let (mut u, mut s) = (vec![0.0; k], vec![0.0; k]);
        out.fill(0.0);
        for i in rows {
            let x = self.train.row(i);
            m.forward(theta, x, &mut work);
            m.derivs(work.z(), self.train.y[i], &mut dz, Some(&mut d2));
            let Some((h, g)) = terms(i, &dz) else { continue };
            if m.net == Net::Linear {
                m.outputs(v, x, &mut u); // u_c = x̃ · v_c
                for a in 0..k {
                    s[a] = h * (0..k).map(|b| d2[a * k + b] * u[b]).sum::<f64>();
                }
                m.add_outer(&s, x, out);
            } else {
                add_curvature_terms(theta, v, &d2, h, &g, &mut work, out);
            }
        }
        for (q, o) in out.iter_mut().enumerate() {
            if self.is_weight(q) {
                *o += self.lambda * v[q];
            }
        }
    }

    /// Per-example loss gradients `g_i = ∇l(z_i, θ)` (no regulariser) of every row of
    /// `rows`, as an n × P matrix, and the losses.
    pub fn example_grads(&self, theta: &[f64], rows: &Design) -> (Array2<f64>, Vec<f64>) {
        let p = self.n_params();
        let mut g = Array2::<f64>::zeros((rows.n(), p));
        let mut losses = Vec::with_capacity(rows.n());
        let mut buf = vec![0.0; p];
        let mut work = self.model.work();
        for i in 0..rows.n() {
            losses.push(self.model.grad_with(theta, rows.row(i), rows.y[i], &mut buf, &mut work));
            g.row_mut(i).iter_mut().zip(&buf).for_each(|(a, b)| *a = *b);
        }
        (g, losses)
    }

    /// Per-example losses at `θ` of every row of `rows`.
    pub fn losses(&self, theta: &[f64], rows: &Design) -> Vec<f64> {
        let mut work = self.model.work();
        (0..rows.n())
            .map(|i| {
                let z = self.model.forward(theta, rows.row(i), &mut work);
                self.model.loss_at(z, rows.y[i])
            })
            .collect()
    }
}

/// `out += |dz_k| |x̃|` in every output's row: one example's terms of a linear model's
/// gradient, by size ([`Problem::gradient_scale`]).
fn add_linear_scale(m: &Model, dz: &[f64], x: &[f64], out: &mut [f64]) {
    let r = m.row_len();
    for (k, g) in dz.iter().enumerate() {
        let row = &mut out[k * r..(k + 1) * r];
        row[..m.d].iter_mut().zip(x).for_each(|(o, xj)| *o += g.abs() * xj.abs());
        row[m.d] += g.abs();
    }
}

/// `out += h J_iᵀ H_out J_i v + Σ_c g_c ∇²z_c v` for the example of the last forward
/// pass in `work` (a network's; nothing for a linear model), `H_out = d2` (K × K).
fn add_curvature_terms(
    theta: &[f64],
    v: &[f64],
    d2: &[f64],
    h: f64,
    g: &[f64],
    work: &mut Work,
    out: &mut [f64],
) {
    let k = g.len();
    let Some(net) = work.mlp() else { return };
    net.forward_r(theta, v);
    let hv: Vec<f64> = (0..k).map(|a| h * (0..k).map(|b| d2[a * k + b] * net.r_z[b]).sum::<f64>()).collect();
    net.add_backward_r(theta, v, g, &hv, out);
}

/// The conventions' fitting tolerance for networks.
pub const MLP_TOL: f64 = 1e-8;

/// `max_p |g_p| / max(1, s_p)`: the gradient measured against the size of its terms
/// `s` ([`Problem::gradient_scale`]), never stricter than the absolute value. This is
/// what the fitting tolerance (1e-10) is compared with.
pub fn scaled_norm(grad: &[f64], scale: &[f64]) -> f64 {
    grad.iter().zip(scale).fold(0.0f64, |m, (g, s)| m.max(g.abs() / s.max(1.0)))
}

/// Rows of X at a time in [`weighted_gram`]: a block and its scaled copy stay in
/// cache (256 × 50 f64 = 100 KB).
const GRAM_BLOCK: usize = 256;

/// `(Xᵀ diag(c) X, Xᵀ c)`, one block of rows at a time: each block is scaled by its
/// `c_i` into a buffer reused for every block and added to the product with one matrix
/// multiplication, so no n × d scaled copy of X is made.
fn weighted_gram(x: ArrayView2<'_, f64>, c: &[f64]) -> (Array2<f64>, ndarray::Array1<f64>) {
    let d = x.ncols();
    let mut xx = Array2::<f64>::zeros((d, d));
    let mut xc = ndarray::Array1::<f64>::zeros(d);
    let mut scaled = Array2::<f64>::zeros((GRAM_BLOCK.min(x.nrows()), d));
    for (start, block) in (0..x.nrows()).step_by(GRAM_BLOCK).zip(x.axis_chunks_iter(Axis(0), GRAM_BLOCK)) {
        let rows = block.nrows();
        let mut buffer = scaled.slice_mut(s![..rows, ..]);
        for ((mut out, row), &ci) in
            buffer.rows_mut().into_iter().zip(block.rows()).zip(&c[start..start + rows])
        {
            out.zip_mut_with(&row, |o, &v| *o = ci * v);
            xc += &out;
        }
        crate::engine::linalg::mat_mul(1.0, &block.t(), &buffer.view(), true, &mut xx.view_mut());
    }
    (xx, xc)
}
