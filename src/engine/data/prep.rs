//! Preparing a dataset for fitting: a seeded train/test split and z-score
//! standardisation with training statistics.

use super::Dataset;
use crate::engine::rng::Rng;
use serde::{Deserialize, Serialize};

/// Split rows into train and test by a seeded permutation; `test_fraction` of the rows
/// (rounded, at least one of each when there are two or more rows) go to test.
pub fn split(data: &Dataset, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let n = data.n();
    let perm = Rng::new(seed).permutation(n);
    let mut n_test = (n as f64 * test_fraction.clamp(0.0, 1.0)).round() as usize;
    if n >= 2 {
        n_test = n_test.clamp(1, n - 1);
    }
    let (test, train) = perm.split_at(n_test.min(n));
    let (mut train, mut test) = (train.to_vec(), test.to_vec());
    train.sort_unstable();
    test.sort_unstable();
    (data.select(&train), data.select(&test))
}

/// Per-column z-score: `(x - mean) / std` with the population standard deviation of
/// the training rows. A constant column maps to 0 (its scale is taken as 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    /// Training mean of each column.
    pub mean: Vec<f64>,
    /// Training standard deviation of each column (1 for constant columns).
    pub scale: Vec<f64>,
}

impl Standardizer {
    /// Statistics of `train`.
    pub fn fit(train: &Dataset) -> Self {
        let n = train.n().max(1) as f64;
        let (mut mean, mut scale) = (Vec::new(), Vec::new());
        for col in train.x.columns() {
            let m = col.sum() / n;
            let var = col.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n;
            let sd = var.sqrt();
            mean.push(m);
            scale.push(if sd > 1e-12 * m.abs().max(1.0) { sd } else { 1.0 });
        }
        Self { mean, scale }
    }

    /// Standardise `data` in place.
    pub fn apply(&self, data: &mut Dataset) {
        for (j, mut col) in data.x.columns_mut().into_iter().enumerate() {
            let (m, s) = (self.mean[j], self.scale[j]);
            col.mapv_inplace(|v| (v - m) / s);
        }
    }

    /// Standardise one raw feature vector.
    pub fn transform(&self, x: &[f64]) -> Vec<f64> {
        x.iter().zip(self.mean.iter().zip(&self.scale)).map(|(v, (m, s))| (v - m) / s).collect()
    }
}

/// Fit a [`Standardizer`] on `train` and apply it to `train` and `test`.
pub fn standardize(train: &mut Dataset, test: &mut Dataset) -> Standardizer {
    let s = Standardizer::fit(train);
    s.apply(train);
    s.apply(test);
    s
}
