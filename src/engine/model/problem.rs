//! The training objective of the conventions,
//! `R(θ) = (1/n) Σ_i w_i l(z_i, θ) + (λ/2) ‖W‖²`,
//! with its gradient, exact Hessian and Hessian-vector product. `n` stays the number
//! of rows when a weight is set to 0 (removal), and biases are never regularised.

use super::{Model, ModelError};
use crate::engine::data::Dataset;
use ndarray::Array2;

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
        Self { d: data.d(), rows: data.x.iter().copied().collect(), y: data.y.clone() }
    }

    /// From a row-major buffer of `y.len()` rows of `d` features.
    pub fn new(d: usize, rows: Vec<f64>, y: Vec<f64>) -> Self {
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
    pub fn new(model: Model, data: &Dataset, lambda: f64) -> Result<Self, ModelError> {
        if data.n() == 0 {
            return Err(ModelError::NoRows);
        }
        let _ = Model::new(model.kind, data.d(), data.n_classes())?;
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

    /// `∇R(θ)` into `out` (the loss values are not computed: see [`Problem::objective`]).
    pub fn gradient(&self, theta: &[f64], out: &mut [f64]) {
        let (m, n) = (&self.model, self.n() as f64);
        let (mut z, mut dz) = (vec![0.0; m.k], vec![0.0; m.k]);
        out.fill(0.0);
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let x = self.train.row(i);
            m.outputs(theta, x, &mut z);
            m.derivs(&z, self.train.y[i], &mut dz, None);
            dz.iter_mut().for_each(|g| *g = w * *g / n);
            m.add_outer(&dz, x, out);
        }
        for (p, o) in out.iter_mut().enumerate() {
            if m.is_weight(p) {
                *o += self.lambda * theta[p];
            }
        }
    }

    /// The exact Hessian `∇²R(θ)` (P × P), including λ on the weights.
    pub fn hessian(&self, theta: &[f64]) -> Array2<f64> {
        let (m, n) = (&self.model, self.n() as f64);
        let (k, r, d, p) = (m.k, m.row_len(), m.d, m.n_params());
        let mut h = Array2::<f64>::zeros((p, p));
        let (mut z, mut dz, mut d2) = (vec![0.0; k], vec![0.0; k], vec![0.0; k * k]);
        let mut xt = vec![1.0; r];
        for (i, &w) in self.weights.iter().enumerate() {
            if w == 0.0 {
                continue;
            }
            let x = self.train.row(i);
            xt[..d].copy_from_slice(x);
            m.outputs(theta, x, &mut z);
            m.derivs(&z, self.train.y[i], &mut dz, Some(&mut d2));
            for a in 0..k {
                for b in a..k {
                    let c = w * d2[a * k + b] / n;
                    if c == 0.0 {
                        continue;
                    }
                    for (ii, xi) in xt.iter().enumerate() {
                        let cx = c * xi;
                        let mut hrow = h.row_mut(a * r + ii);
                        for (jj, xj) in xt.iter().enumerate() {
                            hrow[b * r + jj] += cx * xj;
                        }
                    }
                }
            }
        }
        // Blocks (a, b) with b < a by symmetry.
        for a in 0..k {
            for b in 0..a {
                for ii in 0..r {
                    for jj in 0..r {
                        h[[a * r + ii, b * r + jj]] = h[[b * r + jj, a * r + ii]];
                    }
                }
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
