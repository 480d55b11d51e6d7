//! Tiny neural networks (conventions, "Tiny neural networks (MLP)"): input d → hidden
//! h_1 (→ h_2) → output C, each hidden unit applying the activation σ, the output
//! linear and feeding the loss of the convex model of the target.
//!
//! ```text
//! a_0 = x;  u_l = W_l a_{l-1} + b_l,  a_l = σ(u_l)  (hidden layers l = 1..L)
//! z = W_out a_L + b_out
//! θ = [vec(W_1), b_1, …, vec(W_out), b_out]   (each W row-major, fan_out × fan_in)
//! ```
//!
//! Derivatives are exact: the gradient by backpropagation (a vector–Jacobian product
//! `∇_θ (vᵀ z)`), Hessian-vector products by Pearlmutter's R-operator (forward over
//! reverse: `R{·} = d/dr ·(θ + r v)` at r = 0, no finite differences), and the
//! Gauss–Newton product `Jᵀ H_out J v` by the same forward R-pass followed by a plain
//! backward pass. The activations are twice differentiable: tanh, softplus
//! `log(1 + eᵘ)` and GELU `u Φ(u)` (with `libm::erf`, so the same seed gives the same
//! numbers natively and in the browser). Initialisation is Glorot uniform,
//! `W ~ U(±√(6/(fan_in + fan_out)))`, biases 0, from the portable seeded generator.

use crate::engine::rng::Rng;
use serde::{Deserialize, Serialize};

/// A hidden unit's activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// `tanh u`.
    Tanh,
    /// `log(1 + eᵘ)`.
    Softplus,
    /// `u Φ(u)` (exact, with the error function).
    Gelu,
}

impl Activation {
    /// Every activation.
    pub const ALL: [Activation; 3] = [Activation::Tanh, Activation::Softplus, Activation::Gelu];

    /// The identifier on the command line and in URLs.
    pub fn id(self) -> &'static str {
        match self {
            Activation::Tanh => "tanh",
            Activation::Softplus => "softplus",
            Activation::Gelu => "gelu",
        }
    }

    /// The activation with identifier `id`.
    pub fn from_id(id: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.id() == id)
    }

    /// `(σ(u), σ'(u), σ''(u))`.
    pub fn eval(self, u: f64) -> (f64, f64, f64) {
        match self {
            Activation::Tanh => {
                let t = libm::tanh(u);
                let d = 1.0 - t * t;
                (t, d, -2.0 * t * d)
            }
            Activation::Softplus => {
                let s = super::sigmoid(u);
                (super::softplus(u), s, s * (1.0 - s))
            }
            Activation::Gelu => {
                let phi = (-0.5 * u * u).exp() / (2.0 * std::f64::consts::PI).sqrt();
                let cdf = 0.5 * (1.0 + libm::erf(u / std::f64::consts::SQRT_2));
                (u * cdf, cdf + u * phi, phi * (2.0 - u * u))
            }
        }
    }
}

/// The hidden layers of a network: 1 or 2 of them (0 only inside the engine: the
/// convex models, for tests), their widths and activation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MlpShape {
    /// Widths of the hidden layers (the first `layers` are used).
    pub hidden: [usize; 2],
    /// Number of hidden layers, 0 to 2.
    pub layers: usize,
    /// The activation of every hidden unit.
    pub activation: Activation,
    /// Seed of the Glorot initialisation.
    pub init_seed: u64,
    /// Training budget: 0 trains to convergence (damped Newton); N > 0 stops after N
    /// full-batch gradient steps, as practice does (θ̂ is then not a minimum).
    pub train_steps: usize,
}

impl MlpShape {
    /// One hidden layer of `width` units.
    pub fn one(width: usize, activation: Activation, init_seed: u64) -> Self {
        Self { hidden: [width, 0], layers: 1, activation, init_seed, train_steps: 0 }
    }

    /// The hidden widths in use.
    pub fn widths(&self) -> &[usize] {
        &self.hidden[..self.layers.min(2)]
    }
}

/// Where one layer's parameters sit in θ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layer {
    /// Inputs.
    pub fan_in: usize,
    /// Outputs.
    pub fan_out: usize,
    /// Offset of `W` (row-major, fan_out × fan_in).
    pub w: usize,
    /// Offset of `b`.
    pub b: usize,
}

impl Layer {
    /// One past the layer's last parameter.
    pub fn end(&self) -> usize {
        self.b + self.fan_out
    }
}

/// The layers of a network with `d` inputs and `c` outputs, input first.
pub fn layers(shape: &MlpShape, d: usize, c: usize) -> Vec<Layer> {
    let mut sizes = vec![d];
    sizes.extend_from_slice(shape.widths());
    sizes.push(c);
    let mut at = 0;
    sizes
        .windows(2)
        .map(|w| {
            let l = Layer { fan_in: w[0], fan_out: w[1], w: at, b: at + w[0] * w[1] };
            at = l.end();
            l
        })
        .collect()
}

/// Glorot-uniform weights and zero biases, from `seed`.
pub fn init(layers: &[Layer], seed: u64) -> Vec<f64> {
    let p = layers.last().map_or(0, Layer::end);
    let mut theta = vec![0.0; p];
    let mut rng = Rng::new(seed);
    for l in layers {
        let a = (6.0 / (l.fan_in + l.fan_out) as f64).sqrt();
        for t in &mut theta[l.w..l.b] {
            *t = a * (2.0 * rng.uniform() - 1.0);
        }
    }
    theta
}

/// Scratch space for one example: the forward pass's pre-activations and
/// activations, and the R-pass's; reused across examples so the hot loops do not
/// allocate.
#[derive(Debug, Clone)]
pub struct Workspace {
    layers: Vec<Layer>,
    activation: Activation,
    /// `act[l]`: input of layer l (`act[0] = x`).
    act: Vec<Vec<f64>>,
    /// `pre[l]`: pre-activation of hidden layer l+1 (`u_{l+1}`).
    pre: Vec<Vec<f64>>,
    /// `σ'(u)` and `σ''(u)` of every hidden unit, from the forward pass.
    d1: Vec<Vec<f64>>,
    d2: Vec<Vec<f64>>,
    /// Outputs `z`.
    pub z: Vec<f64>,
    r_act: Vec<Vec<f64>>,
    r_pre: Vec<Vec<f64>>,
    /// `R{z} = J v`.
    pub r_z: Vec<f64>,
    delta: Vec<f64>,
    r_delta: Vec<f64>,
    next: Vec<f64>,
    r_next: Vec<f64>,
}

impl Workspace {
    /// Scratch space for `layers` with `activation`.
    pub fn new(layers: &[Layer], activation: Activation) -> Self {
        let widest = layers.iter().map(|l| l.fan_in.max(l.fan_out)).max().unwrap_or(0);
        let act: Vec<Vec<f64>> = layers.iter().map(|l| vec![0.0; l.fan_in]).collect();
        let pre: Vec<Vec<f64>> =
            layers[..layers.len().saturating_sub(1)].iter().map(|l| vec![0.0; l.fan_out]).collect();
        let c = layers.last().map_or(0, |l| l.fan_out);
        Self {
            layers: layers.to_vec(),
            activation,
            r_act: act.clone(),
            r_pre: pre.clone(),
            d1: pre.clone(),
            d2: pre.clone(),
            act,
            pre,
            z: vec![0.0; c],
            r_z: vec![0.0; c],
            delta: vec![0.0; widest],
            r_delta: vec![0.0; widest],
            next: vec![0.0; widest],
            r_next: vec![0.0; widest],
        }
    }

    /// The features the output layer sees (`a_L`; the input itself without hidden
    /// layers).
    pub fn last_features(&self) -> &[f64] {
        self.act.last().map_or(&[], Vec::as_slice)
    }

    /// The forward pass: `z` (and every layer's values, kept for the backward pass).
    pub fn forward(&mut self, theta: &[f64], x: &[f64]) {
        let n_layers = self.layers.len();
        self.act[0].iter_mut().zip(x).for_each(|(a, v)| *a = *v);
        for li in 0..n_layers {
            let l = self.layers[li];
            let (w, b) = (&theta[l.w..l.b], &theta[l.b..l.end()]);
            let input = &self.act[li];
            let out: &mut [f64] = if li + 1 == n_layers { &mut self.z } else { &mut self.pre[li] };
            for o in 0..l.fan_out {
                out[o] = b[o] + super::dot(&w[o * l.fan_in..(o + 1) * l.fan_in], input);
            }
            if li + 1 < n_layers {
                for j in 0..l.fan_out {
                    let (a, d1, d2) = self.activation.eval(self.pre[li][j]);
                    self.act[li + 1][j] = a;
                    self.d1[li][j] = d1;
                    self.d2[li][j] = d2;
                }
            }
        }
    }

    /// `out += ∇_θ (vᵀ z)` at the last forward pass (backpropagation of `v`).
    pub fn add_vjp(&mut self, theta: &[f64], v: &[f64], out: &mut [f64]) {
        let n_layers = self.layers.len();
        let c = v.len();
        self.delta[..c].copy_from_slice(v);
        for li in (0..n_layers).rev() {
            let l = self.layers[li];
            let input = &self.act[li];
            for o in 0..l.fan_out {
                let g = self.delta[o];
                if g != 0.0 {
                    out[l.w + o * l.fan_in..l.w + (o + 1) * l.fan_in]
                        .iter_mut()
                        .zip(input)
                        .for_each(|(t, a)| *t += g * a);
                }
                out[l.b + o] += g;
            }
            if li == 0 {
                break;
            }
            // δ_{l-1} = (W_lᵀ δ_l) ⊙ σ'(u_{l-1}).
            let w = &theta[l.w..l.b];
            self.next[..l.fan_in].fill(0.0);
            for o in 0..l.fan_out {
                let g = self.delta[o];
                self.next[..l.fan_in]
                    .iter_mut()
                    .zip(&w[o * l.fan_in..(o + 1) * l.fan_in])
                    .for_each(|(e, wi)| *e += g * wi);
            }
            for (j, d1) in self.d1[li - 1].iter().enumerate() {
                self.delta[j] = self.next[j] * d1;
            }
        }
    }

    /// The input of layer `l` at the last forward pass (`x` for the first).
    pub fn layer_input(&self, l: usize) -> &[f64] {
        &self.act[l]
    }

    /// Backpropagate `v` (a vector over the outputs) from the last forward pass and
    /// return `δ_l = ∂(vᵀ z)/∂u_l` of every layer (the output layer's is `v` itself),
    /// input layer first: the pre-activation gradients K-FAC's `S` factors are made of.
    pub fn deltas(&mut self, theta: &[f64], v: &[f64]) -> Vec<Vec<f64>> {
        let n_layers = self.layers.len();
        let mut out = vec![Vec::new(); n_layers];
        out[n_layers - 1] = v.to_vec();
        for li in (1..n_layers).rev() {
            let l = self.layers[li];
            let w = &theta[l.w..l.b];
            let mut e = vec![0.0; l.fan_in];
            for (o, g) in out[li].iter().enumerate() {
                e.iter_mut().zip(&w[o * l.fan_in..(o + 1) * l.fan_in]).for_each(|(e, wi)| *e += g * wi);
            }
            out[li - 1] = e.iter().zip(&self.d1[li - 1]).map(|(e, d)| e * d).collect();
        }
        out
    }

    /// The forward R-pass in direction `v`: `R{u_l}`, `R{a_l}` and `R{z} = J v`.
    pub fn forward_r(&mut self, theta: &[f64], v: &[f64]) {
        let n_layers = self.layers.len();
        self.r_act[0].fill(0.0);
        for li in 0..n_layers {
            let l = self.layers[li];
            let (w, vw, vb) = (&theta[l.w..l.b], &v[l.w..l.b], &v[l.b..l.end()]);
            let (input, r_input) = (&self.act[li], &self.r_act[li]);
            let out: &mut [f64] = if li + 1 == n_layers { &mut self.r_z } else { &mut self.r_pre[li] };
            for o in 0..l.fan_out {
                let row = o * l.fan_in..(o + 1) * l.fan_in;
                out[o] = vb[o] + super::dot(&vw[row.clone()], input) + super::dot(&w[row], r_input);
            }
            if li + 1 < n_layers {
                for j in 0..l.fan_out {
                    self.r_act[li + 1][j] = self.d1[li][j] * self.r_pre[li][j];
                }
            }
        }
    }

    /// `out += ∇²_θ (gᵀ z)·v + Jᵀ h` after [`Workspace::forward`] and
    /// [`Workspace::forward_r`] in direction `v`: the backward R-pass, where `g` is
    /// `∂l/∂z` and `h = H_out R{z}` (both already weighted). With `g = 0` it is the
    /// Gauss–Newton product `Jᵀ H_out J v`.
    pub fn add_backward_r(&mut self, theta: &[f64], v: &[f64], g: &[f64], h: &[f64], out: &mut [f64]) {
        let n_layers = self.layers.len();
        let c = g.len();
        self.delta[..c].copy_from_slice(g);
        self.r_delta[..c].copy_from_slice(h);
        for li in (0..n_layers).rev() {
            let l = self.layers[li];
            let (input, r_input) = (&self.act[li], &self.r_act[li]);
            for o in 0..l.fan_out {
                let (gd, rd) = (self.delta[o], self.r_delta[o]);
                out[l.w + o * l.fan_in..l.w + (o + 1) * l.fan_in]
                    .iter_mut()
                    .zip(input.iter().zip(r_input))
                    .for_each(|(t, (a, ra))| *t += rd * a + gd * ra);
                out[l.b + o] += rd;
            }
            if li == 0 {
                break;
            }
            // e = W_lᵀ δ, R{e} = V_lᵀ δ + W_lᵀ R{δ}.
            let (w, vw) = (&theta[l.w..l.b], &v[l.w..l.b]);
            self.next[..l.fan_in].fill(0.0);
            self.r_next[..l.fan_in].fill(0.0);
            for o in 0..l.fan_out {
                let (gd, rd) = (self.delta[o], self.r_delta[o]);
                let row = o * l.fan_in..(o + 1) * l.fan_in;
                for ((j, wi), vi) in w[row.clone()].iter().enumerate().zip(&vw[row]) {
                    self.next[j] += gd * wi;
                    self.r_next[j] += gd * vi + rd * wi;
                }
            }
            for j in 0..l.fan_in {
                let (d1, d2) = (self.d1[li - 1][j], self.d2[li - 1][j]);
                self.delta[j] = self.next[j] * d1;
                self.r_delta[j] = self.r_next[j] * d1 + self.next[j] * d2 * self.r_pre[li - 1][j];
            }
        }
    }
}
