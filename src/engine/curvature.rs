//! Which curvature matrix stands in for `H` in the influence formulas
//! (conventions, "Curvature"), each with damping δ:
//!
//! - **Hessian**: `∇²R(θ̂)`, exact. A network's can be indefinite; then the smallest
//!   damping that makes `H + δI` positive definite is reported, never a garbage solve.
//! - **GGN**: the Gauss–Newton matrix `G = (1/n) Σ w_i J_iᵀ H_out,i J_i + λ I_W`,
//!   positive semi-definite always (the Hessian itself for linear models).
//! - **K-FAC** (Martens & Grosse 2015): `G` block-diagonal over layers, each block
//!   `A_l ⊗ S_l` with `A_l = (1/n) Σ w_i ã ãᵀ` (the layer's input with a 1 for the bias)
//!   and `S_l = Σ w_i Σ_c s_c s_cᵀ / Σ w_i`, where `s_c` is the pre-activation gradient
//!   of column `q_c` of `H_out = Q Qᵀ` (logistic `√(p(1−p))`, softmax
//!   `√p_c (e_c − p)`, linear 1). λ and δ are added to the whole block, biases included
//!   (the usual K-FAC damping). Inverted through the eigenvectors of `A` and `S`:
//!   `(A ⊗ S + γ I)⁻¹ = (U_S ⊗ U_A) diag(1/(λ_S λ_A + γ)) (U_S ⊗ U_A)ᵀ`.
//! - **EK-FAC** (George et al. 2018; Grosse et al. 2023): the same eigenbasis, with the
//!   eigenvalues refitted to the exact diagonal of each GGN block in it,
//!   `Λ_oj = (1/n) Σ w_i Σ_c (U_Sᵀ s_c)_o² (U_Aᵀ ã)_j²`. When a block is exactly
//!   Kronecker (a linear model of a regression target, say), EK-FAC is the GGN.

use crate::engine::linalg::{project_out, symmetric_eigen, LinalgError};
use crate::engine::model::problem::Problem;
use crate::engine::model::{ModelKind, Net};
use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// The curvature matrix of influence.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Curvature {
    /// The exact Hessian.
    #[default]
    Hessian,
    /// The Gauss–Newton matrix.
    Ggn,
    /// Kronecker-factored GGN.
    Kfac,
    /// K-FAC with eigenvalues refitted in the Kronecker eigenbasis.
    Ekfac,
}

impl Curvature {
    /// Every curvature.
    pub const ALL: [Curvature; 4] = [Curvature::Hessian, Curvature::Ggn, Curvature::Kfac, Curvature::Ekfac];

    /// The identifier on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Curvature::Hessian => "hessian",
            Curvature::Ggn => "ggn",
            Curvature::Kfac => "kfac",
            Curvature::Ekfac => "ekfac",
        }
    }

    /// The curvature with identifier `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.id() == id)
    }

    /// Its name for people.
    pub fn label(self) -> &'static str {
        match self {
            Curvature::Hessian => "Exact Hessian",
            Curvature::Ggn => "Gauss–Newton (GGN)",
            Curvature::Kfac => "K-FAC",
            Curvature::Ekfac => "EK-FAC",
        }
    }
}

/// Columns `q_c` of `H_out = Q Qᵀ` at outputs `z` (see the module doc), C × C
/// row-major with column c at `q[k * C + c]`.
pub fn output_sqrt(kind: ModelKind, z: &[f64]) -> Vec<f64> {
    match kind {
        ModelKind::Linear => vec![1.0],
        ModelKind::Logistic => {
            let p = crate::engine::model::sigmoid(z[0]);
            vec![(p * (1.0 - p)).sqrt()]
        }
        ModelKind::Softmax => {
            let c = z.len();
            let lse = crate::engine::model::log_sum_exp(z);
            let p: Vec<f64> = z.iter().map(|v| (v - lse).exp()).collect();
            let mut q = vec![0.0; c * c];
            for col in 0..c {
                let s = p[col].sqrt();
                for k in 0..c {
                    q[k * c + col] = s * (f64::from(u8::from(k == col)) - p[k]);
                }
            }
            q
        }
    }
}

/// One layer's block: where its parameters sit and its Kronecker eigenbasis.
#[derive(Debug, Clone)]
struct Block {
    /// `index[o * (fan_in + 1) + j]`: the parameter of output `o` from input `j`
    /// (`j = fan_in`: the bias).
    index: Vec<usize>,
    fan_out: usize,
    cols: usize,
    u_s: Array2<f64>,
    u_a: Array2<f64>,
    /// The eigenvalue of every (o, j) pair: `λ_S[o] λ_A[j]`, or the refitted one.
    eig: Array2<f64>,
}

/// The inverse of a K-FAC or EK-FAC curvature plus damping.
#[derive(Debug, Clone)]
pub struct KronInverse {
    blocks: Vec<Block>,
    gamma: f64,
    lambda: f64,
    null: Vec<Vec<f64>>,
    p: usize,
}

/// The parameter index maps of every layer of `problem`'s model.
fn block_indices(problem: &Problem) -> Vec<(usize, usize, Vec<usize>)> {
    let m = &problem.model;
    match m.layers() {
        None => {
            let cols = m.d + 1;
            vec![(m.k, m.d, (0..m.k * cols).collect())]
        }
        Some(layers) => layers
            .iter()
            .map(|l| {
                let index = (0..l.fan_out)
                    .flat_map(|o| {
                        (0..=l.fan_in)
                            .map(move |j| if j < l.fan_in { l.w + o * l.fan_in + j } else { l.b + o })
                    })
                    .collect();
                (l.fan_out, l.fan_in, index)
            })
            .collect(),
    }
}

/// Per example: each layer's input (with the 1 appended) and its pre-activation
/// gradients for every column of `Q`; `visit(weight, inputs, grads)`.
fn each_example(problem: &Problem, theta: &[f64], mut visit: impl FnMut(f64, &[Vec<f64>], &[Vec<Vec<f64>>])) {
    let m = &problem.model;
    let n = problem.n() as f64;
    let mut work = m.work();
    for (i, &w) in problem.weights.iter().enumerate() {
        if w == 0.0 {
            continue;
        }
        let x = problem.train.row(i);
        let z = m.forward(theta, x, &mut work).to_vec();
        let q = output_sqrt(m.kind, &z);
        let c = m.k;
        let columns: Vec<Vec<f64>> = (0..c).map(|col| (0..c).map(|k| q[k * c + col]).collect()).collect();
        let (inputs, grads): (Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>) = match (m.net, work.mlp()) {
            (Net::Mlp(_), Some(net)) => {
                let layers = m.layers().unwrap_or_default();
                let inputs = (0..layers.len())
                    .map(|l| net.layer_input(l).iter().copied().chain([1.0]).collect())
                    .collect();
                let per_col: Vec<Vec<Vec<f64>>> = columns.iter().map(|q| net.deltas(theta, q)).collect();
                let grads =
                    (0..layers.len()).map(|l| per_col.iter().map(|d| d[l].clone()).collect()).collect();
                (inputs, grads)
            }
            _ => (vec![x.iter().copied().chain([1.0]).collect()], vec![columns]),
        };
        visit(w / n, &inputs, &grads);
    }
}

impl KronInverse {
    /// K-FAC (`refit = false`) or EK-FAC (`refit = true`) of `problem` at `theta`, with
    /// damping `damping` (λ is added too).
    pub fn new(problem: &Problem, theta: &[f64], damping: f64, refit: bool) -> Result<Self, LinalgError> {
        let layout = block_indices(problem);
        let mut a: Vec<Array2<f64>> =
            layout.iter().map(|(_, fi, _)| Array2::zeros((fi + 1, fi + 1))).collect();
        let mut s: Vec<Array2<f64>> = layout.iter().map(|(fo, _, _)| Array2::zeros((*fo, *fo))).collect();
        let mut total = 0.0;
        each_example(problem, theta, |w, inputs, grads| {
            total += w;
            for l in 0..layout.len() {
                let x = &inputs[l];
                for (r, xr) in x.iter().enumerate() {
                    for (c, xc) in x.iter().enumerate() {
                        a[l][[r, c]] += w * xr * xc;
                    }
                }
                for g in &grads[l] {
                    for (r, gr) in g.iter().enumerate() {
                        for (c, gc) in g.iter().enumerate() {
                            s[l][[r, c]] += w * gr * gc;
                        }
                    }
                }
            }
        });
        let total = if total > 0.0 { total } else { 1.0 };
        let mut blocks = Vec::with_capacity(layout.len());
        for (l, (fan_out, fan_in, index)) in layout.into_iter().enumerate() {
            let s_l = &s[l] / total;
            let (ea, u_a) = symmetric_eigen(&a[l]).ok_or(LinalgError::NonFinite)?;
            let (es, u_s) = symmetric_eigen(&s_l).ok_or(LinalgError::NonFinite)?;
            let eig = Array2::from_shape_fn((fan_out, fan_in + 1), |(o, j)| es[o].max(0.0) * ea[j].max(0.0));
            blocks.push(Block { index, fan_out, cols: fan_in + 1, u_s, u_a, eig });
        }
        if refit {
            for b in &mut blocks {
                b.eig.fill(0.0);
            }
            each_example(problem, theta, |w, inputs, grads| {
                for (l, b) in blocks.iter_mut().enumerate() {
                    let pa = b.u_a.t().dot(&ndarray::Array1::from(inputs[l].clone()));
                    for g in &grads[l] {
                        let ps = b.u_s.t().dot(&ndarray::Array1::from(g.clone()));
                        for o in 0..b.fan_out {
                            for j in 0..b.cols {
                                b.eig[[o, j]] += w * (ps[o] * pa[j]).powi(2);
                            }
                        }
                    }
                }
            });
        }
        let gamma = damping + problem.lambda;
        if (gamma.is_nan() || gamma <= 0.0) && blocks.iter().any(|b| b.eig.iter().any(|e| *e <= 0.0)) {
            return Err(LinalgError::NotPositiveDefinite { damping });
        }
        Ok(Self {
            blocks,
            gamma,
            lambda: problem.lambda,
            null: problem.null_directions(),
            p: problem.n_params(),
        })
    }

    /// `(C + γI)⁻¹ v`, block by block.
    pub fn solve(&self, v: &[f64]) -> Result<Vec<f64>, LinalgError> {
        if v.len() != self.p {
            return Err(LinalgError::Shape { expected: self.p, found: v.len() });
        }
        let mut out = vec![0.0; self.p];
        for b in &self.blocks {
            let m = Array2::from_shape_fn((b.fan_out, b.cols), |(o, j)| v[b.index[o * b.cols + j]]);
            let mut rot = b.u_s.t().dot(&m).dot(&b.u_a);
            rot.zip_mut_with(&b.eig, |r, e| *r /= e + self.gamma);
            let back = b.u_s.dot(&rot).dot(&b.u_a.t());
            for o in 0..b.fan_out {
                for j in 0..b.cols {
                    out[b.index[o * b.cols + j]] = back[[o, j]];
                }
            }
        }
        project_out(&self.null, &mut out);
        Ok(out)
    }

    /// Each block as a dense matrix `U diag(Λ) Uᵀ` (without λ and δ), with the
    /// parameters it covers (row-major over (output, input), the bias last).
    pub fn block_matrices(&self) -> Vec<(Vec<usize>, Array2<f64>)> {
        self.blocks
            .iter()
            .map(|b| {
                let n = b.fan_out * b.cols;
                let mut m = Array2::zeros((n, n));
                for o in 0..b.fan_out {
                    for j in 0..b.cols {
                        // The eigenvector of (o, j) is u_s[:, o] ⊗ u_a[:, j].
                        let v = Array2::from_shape_fn((b.fan_out, b.cols), |(r, c)| {
                            b.u_s[[r, o]] * b.u_a[[c, j]]
                        });
                        let v = v.into_shape_with_order(n).unwrap_or_else(|_| ndarray::Array1::zeros(n));
                        let e = b.eig[[o, j]];
                        for r in 0..n {
                            for c in 0..n {
                                m[[r, c]] += e * v[r] * v[c];
                            }
                        }
                    }
                }
                (b.index.clone(), m)
            })
            .collect()
    }

    /// The eigenvalues of the curvature with λ, without the damping δ (all blocks,
    /// ascending): comparable with the GGN's spectrum.
    pub fn eigenvalues(&self) -> Vec<f64> {
        let mut ev: Vec<f64> =
            self.blocks.iter().flat_map(|b| b.eig.iter().map(|e| e + self.lambda)).collect();
        ev.sort_by(f64::total_cmp);
        ev
    }
}
