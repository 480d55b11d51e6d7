//! The training objective of the conventions,
//! `R(θ) = (1/n) Σ_i w_i l(z_i, θ) + (λ/2) ‖W‖²`,
//! with its gradient, exact Hessian and Hessian-vector product. `n` stays the number
//! of rows when a weight is set to 0 (removal), and biases are never regularised.

use super::{Model, ModelError, ModelKind};
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
        Self::new(data.d(), data.x.iter().copied().collect(), data.y.clone())
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
}

impl Problem {
    /// Check that the targets fit the model and build the objective with unit weights.
    /// Every class of a classifier needs at least one training row: without one, its
    /// bias runs to −∞ and every number about it would be rounding noise.
    pub fn new(model: Model, data: &Dataset, lambda: f64) -> Result<Self, ModelError> {
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
        Ok(Self {
            model,
            train: Design::from_dataset(data),
            weights: vec![1.0; data.n()],
            lambda: lambda.max(0.0),
        })
    }

    /// Number of training rows `n`.
    pub fn n(&self) -> usize {
        self.train.n()
    }

    /// Number of parameters P.
    pub fn n_params(&self) -> usize {
        self.model.n_params()
    }

    /// Orthonormal directions along which `R` is exactly flat, whatever the data:
    /// for softmax, the same shift of every class's bias (the probabilities do not
    /// change and biases are not regularised), and with λ = 0 the same shift of every
    /// class's weight on each feature too (d + 1 directions). None for other models.
    pub fn null_directions(&self) -> Vec<Vec<f64>> {
        let m = &self.model;
        if m.kind != ModelKind::Softmax {
            return vec![];
        }
        let s = 1.0 / (m.k as f64).sqrt();
        self.gauge_columns()
            .map(|j| {
                let mut u = vec![0.0; m.n_params()];
                (0..m.k).for_each(|k| u[k * m.row_len() + j] = s);
                u
            })
            .collect()
    }

    /// Columns of the K × (d+1) softmax parameters that carry a null direction.
    fn gauge_columns(&self) -> std::ops::RangeInclusive<usize> {
        let d = self.model.d;
        if self.lambda == 0.0 {
            0..=d
        } else {
            d..=d
        }
    }

    /// Move `theta` to the gauge of the conventions (softmax only; no change in any
    /// prediction): `Σ_k b_k = 0`, and with λ = 0 also `Σ_k w_k = 0`.
    pub fn fix_gauge(&self, theta: &mut [f64]) {
        let m = &self.model;
        if m.kind != ModelKind::Softmax || theta.len() != m.n_params() {
            return;
        }
        let r = m.row_len();
        for j in self.gauge_columns() {
            let mean = (0..m.k).map(|k| theta[k * r + j]).sum::<f64>() / m.k as f64;
            (0..m.k).for_each(|k| theta[k * r + j] -= mean);
        }
    }

    /// The size of the terms that `∇R(θ)` sums, per parameter:
    /// `s_p = (1/n) Σ_i w_i |∂l_i/∂θ_p| + λ |θ_p|` (weights only). Rounding in the sum is
    /// about `ε · s_p`, so convergence is judged relative to it (see
    /// [`scaled_norm`]): a gradient entry of 1e-6 is at the rounding floor when the
    /// features are near 1e5, and far from it when they are standardised.
    pub fn gradient_scale(&self, theta: &[f64], out: &mut [f64]) {
        let m = &self.model;
        let r = m.row_len();
        out.fill(0.0);
        self.each_weighted_dz(theta, |x, dz| {
            for (k, g) in dz.iter().enumerate() {
                let row = &mut out[k * r..(k + 1) * r];
                row[..m.d].iter_mut().zip(x).for_each(|(o, xj)| *o += g.abs() * xj.abs());
                row[m.d] += g.abs();
            }
        });
        self.add_regulariser(theta, out, f64::abs);
    }

    fn regulariser(&self, theta: &[f64]) -> f64 {
        let m = &self.model;
        0.5 * self.lambda
            * theta.iter().enumerate().filter(|(p, _)| m.is_weight(*p)).map(|(_, t)| t * t).sum::<f64>()
    }

    /// `R(θ)`.
    pub fn objective(&self, theta: &[f64]) -> f64 {
        let mut z = vec![0.0; self.model.k];
        let mut total = 0.0;
        for (i, &w) in self.weights.iter().enumerate() {
            if w != 0.0 {
                self.model.outputs(theta, self.train.row(i), &mut z);
                total += w * self.model.loss_at(&z, self.train.y[i]);
            }
        }
        total / self.n() as f64 + self.regulariser(theta)
    }

    /// Call `f(x_i, w_i ∂l_i/∂z / n)` for every row of nonzero weight: the one pass over
    /// the data behind [`Problem::gradient`] and [`Problem::gradient_scale`].
    fn each_weighted_dz(&self, theta: &[f64], mut f: impl FnMut(&[f64], &[f64])) {
        let (m, n) = (&self.model, self.n() as f64);
        let (mut z, mut dz) = (vec![0.0; m.k], vec![0.0; m.k]);
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let x = self.train.row(i);
            m.outputs(theta, x, &mut z);
            m.derivs(&z, self.train.y[i], &mut dz, None);
            dz.iter_mut().for_each(|g| *g = w * *g / n);
            f(x, &dz);
        }
    }

    /// Add `λ · g(θ_p)` to every weight entry of `out` (biases are not regularised).
    fn add_regulariser(&self, theta: &[f64], out: &mut [f64], g: impl Fn(f64) -> f64) {
        for (p, o) in out.iter_mut().enumerate() {
            if self.model.is_weight(p) {
                *o += self.lambda * g(theta[p]);
            }
        }
    }

    /// `∇R(θ)` into `out` (the loss values are not computed: see [`Problem::objective`]).
    pub fn gradient(&self, theta: &[f64], out: &mut [f64]) {
        out.fill(0.0);
        self.each_weighted_dz(theta, |x, dz| self.model.add_outer(dz, x, out));
        self.add_regulariser(theta, out, |t| t);
    }

    /// The exact Hessian `∇²R(θ)` (P × P), including λ on the weights.
    ///
    /// Block (a, b) of the outputs is `X̃ᵀ diag(c_ab) X̃` with
    /// `c_ab,i = w_i (∂²l_i/∂z_a∂z_b) / n`, assembled with matrix products (blocked and
    /// vectorised by ndarray) rather than n rank-one updates.
    pub fn hessian(&self, theta: &[f64]) -> Array2<f64> {
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
            let cq = c.column(q);
            let scaled = &x * &cq.insert_axis(Axis(1)); // rows of X times c_i
            let xx = x.t().dot(&scaled); // d × d
            let xb = scaled.sum_axis(Axis(0)); // X̃ᵀ c, the weight–bias column
            let bb = cq.sum();
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
            if m.is_weight(q) {
                h[[q, q]] += self.lambda;
            }
        }
        h
    }

    /// Hessian-vector product `∇²R(θ) v` into `out`, without forming the Hessian.
    pub fn hvp(&self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        self.hvp_rows(theta, v, None, out);
    }

    /// Hessian-vector product of the objective restricted to `rows` (a mini-batch,
    /// averaged over its own size) or of the full objective when `None`; λ is
    /// included either way.
    pub fn hvp_rows(&self, theta: &[f64], v: &[f64], rows: Option<&[usize]>, out: &mut [f64]) {
        let m = &self.model;
        let all: Vec<usize>;
        let (rows, n) = match rows {
            Some(r) => (r, r.len().max(1) as f64),
            None => {
                all = (0..self.n()).collect();
                (&all[..], self.n() as f64)
            }
        };
        let k = m.k;
        let (mut z, mut dz, mut d2) = (vec![0.0; k], vec![0.0; k], vec![0.0; k * k]);
        let (mut u, mut s) = (vec![0.0; k], vec![0.0; k]);
        out.fill(0.0);
        for &i in rows {
            let w = self.weights[i];
            if w == 0.0 {
                continue;
            }
            let x = self.train.row(i);
            m.outputs(theta, x, &mut z);
            m.derivs(&z, self.train.y[i], &mut dz, Some(&mut d2));
            m.outputs(v, x, &mut u); // u_c = x̃ · v_c
            for a in 0..k {
                s[a] = w * (0..k).map(|b| d2[a * k + b] * u[b]).sum::<f64>() / n;
            }
            m.add_outer(&s, x, out);
        }
        for (q, o) in out.iter_mut().enumerate() {
            if m.is_weight(q) {
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
        for i in 0..rows.n() {
            losses.push(self.model.grad(theta, rows.row(i), rows.y[i], &mut buf));
            g.row_mut(i).iter_mut().zip(&buf).for_each(|(a, b)| *a = *b);
        }
        (g, losses)
    }

    /// Per-example losses at `θ` of every row of `rows`.
    pub fn losses(&self, theta: &[f64], rows: &Design) -> Vec<f64> {
        (0..rows.n()).map(|i| self.model.loss(theta, rows.row(i), rows.y[i])).collect()
    }
}

/// `max_p |g_p| / max(1, s_p)`: the gradient measured against the size of its terms
/// `s` ([`Problem::gradient_scale`]), never stricter than the absolute value. This is
/// what the fitting tolerance (1e-10) is compared with.
pub fn scaled_norm(grad: &[f64], scale: &[f64]) -> f64 {
    grad.iter().zip(scale).fold(0.0f64, |m, (g, s)| m.max(g.abs() / s.max(1.0)))
}
