//! How feature vectors become plot coordinates, and the model drawn over the plot.
//!
//! With two features the plot shows the features themselves; with one, the feature
//! against the target; with more, the first two principal components of the training
//! features (the top eigenvectors of their covariance `(1/n) X_cᵀ X_c`), with the
//! share of variance they explain. The decision surface is the model evaluated on a
//! grid over the plot (2-D data), or its prediction curve (1-D regression).

use crate::engine::data::Dataset;
use crate::engine::evaluate::argmax;
use crate::engine::linalg::symmetric_eigen;
use crate::engine::model::{Model, ModelKind};
use crate::protocol::{Projection, Surface};
use ndarray::{Array2, Axis};

/// Surface grid cells across (and down, scaled by the aspect ratio).
pub const SURFACE_CELLS: usize = 64;

/// Training rows centred at a time for the covariance (256 × 50 f64 = 100 KB: in cache).
const COV_BLOCK: usize = 256;

/// How feature vectors become plot coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    /// Two features, as they are.
    Plane,
    /// One feature against the target.
    Line,
    /// The first two principal components.
    Pca {
        /// Training mean.
        mean: Vec<f64>,
        /// The two components (unit vectors).
        comps: [Vec<f64>; 2],
        /// Share of the variance they explain.
        explained: f64,
    },
}

impl Frame {
    /// The frame for `train`'s features.
    pub fn new(train: &Dataset) -> Frame {
        match train.d() {
            2 => Frame::Plane,
            1 => Frame::Line,
            d => {
                let n = train.n().max(1) as f64;
                let centre = train.x.mean_axis(Axis(0)).unwrap_or_else(|| ndarray::Array1::zeros(d));
                // X_cᵀ X_c a block of rows at a time: a block is centred into a buffer
                // reused for every block (no centred copy of a large upload).
                let mut cov = Array2::<f64>::zeros((d, d));
                let mut centred = Array2::<f64>::zeros((COV_BLOCK.min(train.n()), d));
                for rows in train.x.axis_chunks_iter(Axis(0), COV_BLOCK) {
                    let mut block = centred.slice_mut(ndarray::s![..rows.nrows(), ..]);
                    block.assign(&rows);
                    block -= &centre;
                    crate::engine::linalg::mat_mul(
                        1.0 / n,
                        &block.t(),
                        &block.view(),
                        true,
                        &mut cov.view_mut(),
                    );
                }
                let total: f64 = (0..d).map(|j| cov[[j, j]]).sum();
                let (vals, vecs) = symmetric_eigen(&cov).unwrap_or((vec![0.0; d], Array2::eye(d)));
                // Ascending order: the last two are the principal directions.
                let comp = |k: usize| vecs.column(d - 1 - k).to_vec();
                let top = vals[d - 1] + vals[d - 2];
                Frame::Pca {
                    mean: centre.to_vec(),
                    comps: [comp(0), comp(1)],
                    explained: if total > 0.0 { top / total } else { 0.0 },
                }
            }
        }
    }

    /// Plot coordinates of features `x` with target `y`.
    pub fn xy(&self, x: &[f64], y: f64) -> [f64; 2] {
        match self {
            Frame::Plane => [x[0], x[1]],
            Frame::Line => [x[0], y],
            Frame::Pca { mean, comps, .. } => {
                let p = |c: &[f64]| x.iter().zip(mean).zip(c).map(|((v, m), c)| (v - m) * c).sum();
                [p(&comps[0]), p(&comps[1])]
            }
        }
    }

    /// Plot coordinates of every row of `d`.
    pub fn points(&self, d: &Dataset) -> Vec<[f64; 2]> {
        let mut out = Vec::with_capacity(d.n());
        d.for_each_row(|i, r| out.extend(d.y.get(i).map(|&y| self.xy(r, y))));
        out
    }

    /// What the page says about the projection.
    pub fn projection(&self) -> Projection {
        match self {
            Frame::Plane => Projection::Plane,
            Frame::Line => Projection::Line,
            Frame::Pca { explained, .. } => Projection::Pca { explained: *explained },
        }
    }

    /// The model `theta` over the plot `bounds`: a grid for 2-D data; for one feature
    /// and a real target, the prediction curve (a single row of cells); nothing
    /// otherwise.
    pub fn surface(&self, model: &Model, theta: &[f64], bounds: ([f64; 2], [f64; 2])) -> Option<Surface> {
        let ([x0, x1], [y0, y1]) = bounds;
        let (nx, ny) = match self {
            Frame::Plane => (SURFACE_CELLS, ((SURFACE_CELLS as f64) * 0.75).round() as usize),
            Frame::Line if model.kind == ModelKind::Linear => (2 * SURFACE_CELLS, 1),
            _ => return None,
        };
        let (mut class, mut value) = (Vec::with_capacity(nx * ny), Vec::with_capacity(nx * ny));
        for j in 0..ny {
            for i in 0..nx {
                let cx = x0 + (i as f64 + 0.5) / nx as f64 * (x1 - x0);
                let x =
                    if ny == 1 { vec![cx] } else { vec![cx, y0 + (j as f64 + 0.5) / ny as f64 * (y1 - y0)] };
                let p = model.predict(theta, &x);
                if model.kind == ModelKind::Linear {
                    class.push(0.0);
                    value.push(p[0]);
                } else {
                    let c = argmax(&p);
                    class.push(c as f64);
                    value.push(p[c]);
                }
            }
        }
        Some(Surface { x: [x0, x1], y: [y0, y1], nx, ny, class: class.into(), value: value.into() })
    }
}

/// Plot bounds with a 5% margin (at least 0.5).
pub fn bounds(points: &[[f64; 2]]) -> ([f64; 2], [f64; 2]) {
    let mut b = [[f64::INFINITY, f64::NEG_INFINITY]; 2];
    for p in points {
        for k in 0..2 {
            b[k][0] = b[k][0].min(p[k]);
            b[k][1] = b[k][1].max(p[k]);
        }
    }
    let pad = |[lo, hi]: [f64; 2]| {
        if !lo.is_finite() || !hi.is_finite() {
            return [-1.0, 1.0];
        }
        let m = ((hi - lo) * 0.05).max(0.5);
        [lo - m, hi + m]
    };
    (pad(b[0]), pad(b[1]))
}
