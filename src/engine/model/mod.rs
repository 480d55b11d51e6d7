//! Models as generalised linear models with K outputs `z = W x̃` (`x̃ = [x, 1]`, the bias
//! last), and the per-example loss as a function of `z`:
//!
//! | model    | K       | `l(z, y)`                  | `∂l/∂z`    | `∂²l/∂z²`          |
//! |----------|---------|----------------------------|------------|--------------------|
//! | logistic | 1       | `log(1+eᶻ) − y z`          | `σ(z) − y` | `σ(1−σ)`           |
//! | softmax  | classes | `logsumexp(z) − z_y`       | `p − e_y`  | `diag(p) − p pᵀ`   |
//! | linear   | 1       | `½ (y − z)²`               | `z − y`    | `1`                |
//!
//! so that `∇_θ l = ∂l/∂z ⊗ x̃` and `∇²_θ l = ∂²l/∂z² ⊗ x̃ x̃ᵀ`. Parameters are one flat
//! vector, row-major K × (d+1): row k is `[w_k, b_k]` (conventions, "Data and
//! parameters"). The objective over a dataset is in [`problem`].
//!
//! The same losses sit on top of a tiny neural network ([`mlp`]) when the model's
//! [`Net`] is an MLP: then `z` is the network's output and the chain rule runs through
//! its layers (the flat layout of the conventions' MLP section). Code that needs `z`
//! and `∇_θ (vᵀ z)` goes through [`Model::forward`] and [`Model::add_vjp`] with a
//! reusable [`Work`], whatever the network.

pub mod mlp;
pub mod problem;

use crate::engine::exp::{exp, exp_pair};
use crate::said::Said;
use crate::text::Text;
use mlp::{Layer, MlpShape};

use serde::{Deserialize, Serialize};

/// Which model.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    /// Binary logistic regression, `y ∈ {0, 1}`.
    Logistic,
    /// Multinomial (softmax) regression, `y ∈ 0..K`, all K classes parameterised.
    Softmax,
    /// Linear least squares (ridge with λ > 0), real `y`.
    Linear,
}

impl ModelKind {
    /// The identifier used on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            ModelKind::Logistic => "logistic",
            ModelKind::Softmax => "softmax",
            ModelKind::Linear => "linear",
        }
    }

    /// The model with identifier `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        [ModelKind::Logistic, ModelKind::Softmax, ModelKind::Linear].into_iter().find(|m| m.id() == id)
    }

    /// The natural model for a target with `n_classes` classes (0 for a real target).
    pub fn for_classes(n_classes: usize) -> Self {
        match n_classes {
            0 => ModelKind::Linear,
            2 => ModelKind::Logistic,
            _ => ModelKind::Softmax,
        }
    }
}

/// A model whose shape does not fit the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelError {
    /// Logistic regression on a target without exactly two classes.
    NeedsTwoClasses {
        /// Classes found (0 for a real target).
        found: usize,
    },
    /// Softmax on a target with fewer than two classes.
    NeedsClasses,
    /// Linear regression on a class target.
    NeedsRealTarget,
    /// Too many parameters for an exact Hessian in a browser tab.
    TooManyParameters {
        /// Parameters the model would have.
        found: usize,
        /// The limit.
        limit: usize,
    },
    /// Zero training rows.
    NoRows,
    /// A network with more than two hidden layers or an empty one.
    BadNetwork {
        /// Hidden layers asked for.
        layers: usize,
    },
    /// A class of the target has no training row (e.g. it occurs only in the test
    /// file, or every row of it was removed).
    EmptyClass {
        /// The class, as it reads in the data.
        class: String,
    },
}

impl ModelError {
    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        match self {
            Self::NeedsTwoClasses { found } => Said::new(Text::ErrModelNeedsTwoClasses).with("found", found),
            Self::NeedsClasses => Said::new(Text::ErrModelNeedsClasses),
            Self::NeedsRealTarget => Said::new(Text::ErrModelNeedsRealTarget),
            Self::TooManyParameters { found, limit } => {
                Said::new(Text::ErrModelTooManyParameters).with("found", found).with("limit", limit)
            }
            Self::NoRows => Said::new(Text::ErrModelNoRows),
            Self::BadNetwork { layers } => Said::new(Text::ErrModelBadNetwork).with("layers", layers),
            Self::EmptyClass { class } => Said::new(Text::ErrModelEmptyClass).with("class", class),
        }
    }
}

crate::said_error!(ModelError);

/// Most parameters accepted (the Hessian has the square of this many entries).
pub const MAX_PARAMS: usize = 2_000;

/// What computes the outputs `z` from the features.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Net {
    /// `z = W x̃`: the convex models.
    Linear,
    /// A tiny neural network.
    Mlp(MlpShape),
}

/// A model's shape: kind, features `d`, outputs `k`, and the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Model {
    /// Which output and loss.
    pub kind: ModelKind,
    /// Number of features (without the bias).
    pub d: usize,
    /// Number of outputs K (1 for logistic and linear).
    pub k: usize,
    /// What computes the outputs.
    pub net: Net,
}

/// Scratch space for one example's forward and backward passes (see [`Model::work`]).
#[derive(Debug, Clone)]
pub struct Work {
    x: Vec<f64>,
    z: Vec<f64>,
    /// `∂l/∂z` of [`Model::grad_with`].
    dz: Vec<f64>,
    mlp: Option<mlp::Workspace>,
}

impl Work {
    /// The outputs of the last [`Model::forward`].
    pub fn z(&self) -> &[f64] {
        match &self.mlp {
            Some(w) => &w.z,
            None => &self.z,
        }
    }

    /// The network's part, for the R-operator passes (`None` for linear models).
    pub fn mlp(&mut self) -> Option<&mut mlp::Workspace> {
        self.mlp.as_mut()
    }

    /// The features the output layer sees at the last forward pass: `a_L` of a network,
    /// the input itself for a linear model.
    pub fn features(&self) -> &[f64] {
        match &self.mlp {
            Some(w) => w.last_features(),
            None => &self.x,
        }
    }
}

impl Model {
    /// Validate the model against a target with `n_classes` classes (0 = real).
    pub fn new(kind: ModelKind, d: usize, n_classes: usize) -> Result<Self, ModelError> {
        Self::with_net(kind, d, n_classes, Net::Linear)
    }

    /// A model with the given network.
    pub fn with_net(kind: ModelKind, d: usize, n_classes: usize, net: Net) -> Result<Self, ModelError> {
        let k = match (kind, n_classes) {
            (ModelKind::Logistic, 2) => 1,
            (ModelKind::Logistic, found) => return Err(ModelError::NeedsTwoClasses { found }),
            (ModelKind::Softmax, c) if c >= 2 => c,
            (ModelKind::Softmax, _) => return Err(ModelError::NeedsClasses),
            (ModelKind::Linear, 0) => 1,
            (ModelKind::Linear, _) => return Err(ModelError::NeedsRealTarget),
        };
        if let Net::Mlp(s) = net {
            if s.layers > 2 || s.widths().contains(&0) {
                return Err(ModelError::BadNetwork { layers: s.layers });
            }
        }
        let model = Self { kind, d, k, net };
        let found = model.n_params();
        if found > MAX_PARAMS {
            return Err(ModelError::TooManyParameters { found, limit: MAX_PARAMS });
        }
        Ok(model)
    }

    /// The network's layers (`None` for linear models).
    pub fn layers(&self) -> Option<Vec<Layer>> {
        match self.net {
            Net::Linear => None,
            Net::Mlp(s) => Some(mlp::layers(&s, self.d, self.k)),
        }
    }

    /// Length of a row of parameters of a linear model, `d + 1`.
    pub fn row_len(&self) -> usize {
        self.d + 1
    }

    /// Number of parameters P.
    pub fn n_params(&self) -> usize {
        match self.net {
            Net::Linear => self.k * (self.d + 1),
            Net::Mlp(s) => mlp::layers(&s, self.d, self.k).last().map_or(0, Layer::end),
        }
    }

    /// The parameter of output `k` from input `j` of the output layer (`j` = its
    /// number of inputs: the bias).
    pub fn output_param(&self, k: usize, j: usize) -> usize {
        match self.layers().and_then(|l| l.last().copied()) {
            None => k * self.row_len() + j,
            Some(l) if j < l.fan_in => l.w + k * l.fan_in + j,
            Some(l) => l.b + k,
        }
    }

    /// Inputs of the output layer (d for a linear model, the last hidden width else).
    pub fn output_inputs(&self) -> usize {
        self.layers().and_then(|l| l.last().map(|l| l.fan_in)).unwrap_or(self.d)
    }

    /// Where training starts: zeros for a linear model (the objective is convex), the
    /// seeded Glorot initialisation for a network (zeros would be a saddle point).
    pub fn initial_theta(&self) -> Vec<f64> {
        match self.net {
            Net::Linear => vec![0.0; self.n_params()],
            Net::Mlp(s) => mlp::init(&mlp::layers(&s, self.d, self.k), s.init_seed),
        }
    }

    /// Scratch space for [`Model::forward`] and [`Model::add_vjp`].
    pub fn work(&self) -> Work {
        let mlp = match self.net {
            Net::Linear => None,
            Net::Mlp(s) => Some(mlp::Workspace::new(&mlp::layers(&s, self.d, self.k), s.activation)),
        };
        Work { x: vec![0.0; self.d], z: vec![0.0; self.k], dz: vec![0.0; self.k], mlp }
    }

    /// The outputs `z` for features `x`, kept in `w` for the backward pass.
    pub fn forward<'w>(&self, theta: &[f64], x: &[f64], w: &'w mut Work) -> &'w [f64] {
        match &mut w.mlp {
            Some(m) => {
                m.forward(theta, x);
                &m.z
            }
            None => {
                let d = self.d.min(x.len());
                w.x[..d].copy_from_slice(&x[..d]);
                self.linear_outputs(theta, x, &mut w.z);
                &w.z
            }
        }
    }

    /// `out += ∇_θ (vᵀ z)` at the last [`Model::forward`] of `w`.
    pub fn add_vjp(&self, theta: &[f64], w: &mut Work, v: &[f64], out: &mut [f64]) {
        match &mut w.mlp {
            Some(m) => m.add_vjp(theta, v, out),
            None => self.add_outer(v, &w.x, out),
        }
    }

    /// Number of classes of a classifier (2 for logistic), 0 for regression.
    pub fn classes(&self) -> usize {
        match self.kind {
            ModelKind::Logistic => 2,
            ModelKind::Softmax => self.k,
            ModelKind::Linear => 0,
        }
    }

    /// Whether parameter `p` is a weight (regularised) rather than a bias.
    pub fn is_weight(&self, p: usize) -> bool {
        match self.layers() {
            None => p % self.row_len() != self.d,
            Some(layers) => layers.iter().any(|l| (l.w..l.b).contains(&p)),
        }
    }

    /// A mask of [`Model::is_weight`] over every parameter (for loops over θ).
    pub fn weight_mask(&self) -> Vec<bool> {
        (0..self.n_params()).map(|p| self.is_weight(p)).collect()
    }

    /// Outputs `z` for one feature row `x` (allocates scratch space for a network:
    /// hot loops use [`Model::forward`]).
    pub fn outputs(&self, theta: &[f64], x: &[f64], z: &mut [f64]) {
        match self.net {
            Net::Linear => self.linear_outputs(theta, x, z),
            Net::Mlp(_) => {
                let mut w = self.work();
                z.copy_from_slice(self.forward(theta, x, &mut w));
            }
        }
    }

    /// `z_k = w_k · x + b_k` of a linear model.
    pub(crate) fn linear_outputs(&self, theta: &[f64], x: &[f64], z: &mut [f64]) {
        let r = self.row_len();
        for (k, zk) in z.iter_mut().enumerate().take(self.k) {
            let row = &theta[k * r..(k + 1) * r];
            *zk = dot(&row[..self.d], x) + row[self.d];
        }
    }

    /// Loss at outputs `z` for target `y`; fills `dz = ∂l/∂z` and, when given,
    /// `d2z = ∂²l/∂z²` (K × K, row-major).
    pub fn loss_derivs(&self, z: &[f64], y: f64, dz: &mut [f64], d2z: Option<&mut [f64]>) -> f64 {
        if self.kind == ModelKind::Logistic {
            // One exponential for both (the same bits as `derivs` then `loss_at`).
            let (p, softplus) = sigmoid_and_softplus(z[0]);
            dz[0] = p - y;
            if let Some(h) = d2z {
                h[0] = p * (1.0 - p);
            }
            return softplus - y * z[0];
        }
        self.derivs(z, y, dz, d2z);
        self.loss_at(z, y)
    }

    /// The loss `l(z, y)` alone.
    pub fn loss_at(&self, z: &[f64], y: f64) -> f64 {
        match self.kind {
            // log(1 + e^z) - y z, stable for large |z|.
            ModelKind::Logistic => softplus(z[0]) - y * z[0],
            ModelKind::Linear => 0.5 * (y - z[0]) * (y - z[0]),
            ModelKind::Softmax => log_sum_exp(z) - z.get(y as usize).copied().unwrap_or(0.0),
        }
    }

    /// One training row of a single-output model under several parameter vectors at
    /// once (a lockstep group of refits): `z_j ← w · ∂l/∂z(z_j + b_j) / n`, with `z_j`
    /// the row's output before the bias `b_j` of column j. The same operations, in the
    /// same order, as [`Model::derivs`] then `w · dz / n`, without a call per entry (in
    /// the browser the sigmoid takes two columns at a time: [`sigmoid_pair`]). `false`,
    /// and `z` untouched, for a softmax model or columns of unequal length.
    pub fn scaled_residuals(&self, z: &mut [f64], bias: &[f64], y: f64, w: f64, n: f64) -> bool {
        if z.len() != bias.len() {
            return false;
        }
        match self.kind {
            ModelKind::Logistic => {
                let even = z.len() / 2 * 2;
                let ((z2, z1), (b2, b1)) = (z.split_at_mut(even), bias.split_at(even));
                for (v, b) in z2.chunks_exact_mut(2).zip(b2.chunks_exact(2)) {
                    let p = sigmoid_pair([v[0] + b[0], v[1] + b[1]]);
                    v[0] = w * (p[0] - y) / n;
                    v[1] = w * (p[1] - y) / n;
                }
                for (v, b) in z1.iter_mut().zip(b1) {
                    *v = w * (sigmoid(*v + b) - y) / n;
                }
                true
            }
            ModelKind::Linear => {
                for (v, b) in z.iter_mut().zip(bias) {
                    *v = w * (*v + b - y) / n;
                }
                true
            }
            ModelKind::Softmax => false,
        }
    }

    /// `dz = ∂l/∂z` and, when given, `d2z = ∂²l/∂z²`, without the loss itself (the
    /// hot loop of retraining needs only these).
    pub fn derivs(&self, z: &[f64], y: f64, dz: &mut [f64], d2z: Option<&mut [f64]>) {
        match self.kind {
            ModelKind::Logistic => {
                let p = sigmoid(z[0]);
                dz[0] = p - y;
                if let Some(h) = d2z {
                    h[0] = p * (1.0 - p);
                }
            }
            ModelKind::Linear => {
                dz[0] = z[0] - y;
                if let Some(h) = d2z {
                    h[0] = 1.0;
                }
            }
            ModelKind::Softmax => {
                let lse = log_sum_exp(z);
                for (k, g) in dz.iter_mut().enumerate() {
                    *g = exp(z[k] - lse);
                }
                if let Some(h) = d2z {
                    let kk = self.k;
                    for a in 0..kk {
                        for b in 0..kk {
                            h[a * kk + b] = if a == b { dz[a] } else { 0.0 } - dz[a] * dz[b];
                        }
                    }
                }
                if let Some(g) = dz.get_mut(y as usize) {
                    *g -= 1.0;
                }
            }
        }
    }

    /// Per-example loss (no regulariser).
    pub fn loss(&self, theta: &[f64], x: &[f64], y: f64) -> f64 {
        let mut z = vec![0.0; self.k];
        self.outputs(theta, x, &mut z);
        self.loss_at(&z, y)
    }

    /// Per-example loss gradient `∇_θ l` into `out` (length P); returns the loss.
    pub fn grad(&self, theta: &[f64], x: &[f64], y: f64, out: &mut [f64]) -> f64 {
        let mut w = self.work();
        self.grad_with(theta, x, y, out, &mut w)
    }

    /// [`Model::grad`] with caller-owned scratch space.
    pub fn grad_with(&self, theta: &[f64], x: &[f64], y: f64, out: &mut [f64], w: &mut Work) -> f64 {
        let mut dz = std::mem::take(&mut w.dz);
        dz.resize(self.k, 0.0);
        self.forward(theta, x, w);
        let l = self.loss_derivs(w.z(), y, &mut dz, None);
        out.fill(0.0);
        self.add_vjp(theta, w, &dz, out);
        w.dz = dz;
        l
    }

    /// `out += v ⊗ x̃` (linear models): the chain rule through `z = W x̃`.
    pub fn add_outer(&self, v: &[f64], x: &[f64], out: &mut [f64]) {
        let r = self.row_len();
        for k in 0..self.k {
            let row = &mut out[k * r..(k + 1) * r];
            for (o, xj) in row[..self.d].iter_mut().zip(x) {
                *o += v[k] * xj;
            }
            row[self.d] += v[k];
        }
    }

    /// Per-example loss Hessian `∇²_θ l` (P × P, row-major; linear models).
    pub fn hessian(&self, theta: &[f64], x: &[f64], y: f64) -> Vec<f64> {
        let (kk, r, p) = (self.k, self.row_len(), self.n_params());
        let (mut z, mut dz, mut d2) = (vec![0.0; kk], vec![0.0; kk], vec![0.0; kk * kk]);
        self.outputs(theta, x, &mut z);
        self.derivs(&z, y, &mut dz, Some(&mut d2));
        let xt: Vec<f64> = x.iter().copied().chain([1.0]).collect();
        let mut h = vec![0.0; p * p];
        for a in 0..kk {
            for b in 0..kk {
                for i in 0..r {
                    for j in 0..r {
                        h[(a * r + i) * p + b * r + j] = d2[a * kk + b] * xt[i] * xt[j];
                    }
                }
            }
        }
        h
    }

    /// What the model predicts for `x`: class probabilities, or the real value.
    pub fn predict(&self, theta: &[f64], x: &[f64]) -> Vec<f64> {
        let mut z = vec![0.0; self.k];
        self.outputs(theta, x, &mut z);
        match self.kind {
            ModelKind::Logistic => {
                let p = sigmoid(z[0]);
                vec![1.0 - p, p]
            }
            ModelKind::Softmax => {
                let lse = log_sum_exp(&z);
                z.iter().map(|v| exp(v - lse)).collect()
            }
            ModelKind::Linear => z,
        }
    }

    /// The test prediction `f` of the conventions and its gradient `∇_θ f` into `out`:
    /// `P(y = y_t | x)` for classifiers, `ŷ` for linear regression.
    pub fn f_and_grad(&self, theta: &[f64], x: &[f64], y: f64, out: &mut [f64]) -> f64 {
        let mut w = self.work();
        let z = self.forward(theta, x, &mut w).to_vec();
        let mut df = vec![0.0; self.k];
        let f = self.f_and_df(&z, y, &mut df);
        out.fill(0.0);
        self.add_vjp(theta, &mut w, &df, out);
        f
    }

    /// The prediction `f` of [`Model::f_and_grad`] at outputs `z` (the probability of
    /// `y`'s class, or the value), and `df = ∂f/∂z`.
    pub fn f_and_df(&self, z: &[f64], y: f64, df: &mut [f64]) -> f64 {
        match self.kind {
            ModelKind::Logistic => {
                let p = sigmoid(z[0]);
                let (f, sign) = if y >= 0.5 { (p, 1.0) } else { (1.0 - p, -1.0) };
                df[0] = sign * p * (1.0 - p);
                f
            }
            ModelKind::Softmax => {
                let lse = log_sum_exp(z);
                let c = (y as usize).min(self.k - 1);
                let pc = exp(z[c] - lse);
                for k in 0..self.k {
                    df[k] = pc * (f64::from(u8::from(k == c)) - exp(z[k] - lse));
                }
                pc
            }
            ModelKind::Linear => {
                df[0] = 1.0;
                z[0]
            }
        }
    }
}

/// `a · b`, with four independent partial sums so the compiler can vectorise it (a
/// single running sum is a serial dependency chain). This is the inner loop of every
/// gradient pass, and so of retraining.
pub fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for k in 0..4 {
            acc[k] += x[k] * y[k];
        }
    }
    let tail: f64 = ra.iter().zip(rb).map(|(x, y)| x * y).sum();
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

/// The logistic function, evaluated without overflow.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + exp(-z))
    } else {
        let e = exp(z);
        e / (1.0 + e)
    }
}

/// [`sigmoid`] of two numbers, their exponentials taken together ([`exp_pair`]).
#[inline(always)]
pub fn sigmoid_pair(z: [f64; 2]) -> [f64; 2] {
    // exp(−z) for z ≥ 0 and exp(z) below are both exp(−|z|).
    let e = exp_pair([-z[0].abs(), -z[1].abs()]);
    let p = |z: f64, e: f64| if z >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
    [p(z[0], e[0]), p(z[1], e[1])]
}

/// [`sigmoid`] and [`softplus`] of `z`, from the one exponential both take, `e^(-|z|)`:
/// the same bits as each alone.
pub fn sigmoid_and_softplus(z: f64) -> (f64, f64) {
    let e = exp(-z.abs());
    let p = if z >= 0.0 { 1.0 / (1.0 + e) } else { e / (1.0 + e) };
    let softplus = if z > 0.0 { z + e.ln_1p() } else { e.ln_1p() };
    (p, softplus)
}

/// `log(1 + eᶻ)` without overflow or loss of precision.
pub fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + exp(-z).ln_1p()
    } else {
        exp(z).ln_1p()
    }
}

/// `log Σ eᶻᵏ`, shifted by the maximum.
pub fn log_sum_exp(z: &[f64]) -> f64 {
    let m = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !m.is_finite() {
        return m;
    }
    m + z.iter().map(|v| exp(v - m)).sum::<f64>().ln()
}

#[cfg(test)]
mod tests {
    use super::{sigmoid, sigmoid_and_softplus, softplus};

    /// One exponential for both gives each one's bits: at 0 and -0 (the branches'
    /// edges), tiny, large and non-finite arguments, and a sweep over [-800, 800].
    #[test]
    fn sigmoid_and_softplus_are_each_alone() {
        let mut zs =
            vec![0.0, -0.0, 1e-300, -1e-300, 36.7, -36.7, 709.0, -746.0, f64::INFINITY, f64::NEG_INFINITY];
        zs.extend((0..160_001).map(|k| -800.0 + 0.01 * f64::from(k) + 1e-9 * f64::from(k % 7)));
        for z in zs {
            let (p, s) = sigmoid_and_softplus(z);
            assert_eq!((p.to_bits(), s.to_bits()), (sigmoid(z).to_bits(), softplus(z).to_bits()), "z = {z}");
        }
        let (p, s) = sigmoid_and_softplus(f64::NAN);
        assert!(p.is_nan() && s.is_nan());
    }
}
