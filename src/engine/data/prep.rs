//! Preparing a dataset for fitting: a seeded train/test split and z-score
//! standardisation with training statistics.

use super::Dataset;
use crate::engine::rng::Rng;
use serde::{Deserialize, Serialize};

/// Split rows into train and test by a seeded permutation; `test_fraction` of the rows
/// (rounded, at least one of each when there are two or more rows) go to test. For a
/// class target the split is stratified: each class sends its own rounded share to
/// test and keeps at least one row for training, so no class is missing from the
/// training rows (its bias would run to −∞).
pub fn split(data: &Dataset, test_fraction: f64, seed: u64) -> (Dataset, Dataset) {
    let (train, test) = split_rows(data, test_fraction, seed);
    (data.select(&train), data.select(&test))
}

/// The rows of [`split`]: `(train, test)`, each ascending.
pub fn split_rows(data: &Dataset, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let n = data.n();
    let perm = Rng::new(seed).permutation(n);
    let frac = if test_fraction.is_finite() { test_fraction.clamp(0.0, 1.0) } else { 0.0 };
    let mut is_test = vec![false; n];
    // Groups of rows (in permutation order): one per class, or one for a real target.
    let k = data.n_classes().max(1);
    let group = |i: usize| if data.n_classes() > 0 { (data.y[i] as usize).min(k - 1) } else { 0 };
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
    perm.iter().for_each(|&i| members[group(i)].push(i));
    for m in &members {
        let share = ((m.len() as f64) * frac).round() as usize;
        let keep = usize::from(data.n_classes() > 0 && !m.is_empty());
        m.iter().take(share.min(m.len().saturating_sub(keep))).for_each(|&i| is_test[i] = true);
    }
    let n_test = is_test.iter().filter(|t| **t).count();
    if n >= 2 && n_test == 0 {
        // One test row from the largest group that can spare one.
        if let Some(m) = members.iter().filter(|m| m.len() >= 2).max_by_key(|m| m.len()) {
            is_test[m[m.len() - 1]] = true;
        }
    } else if n >= 2 && n_test == n {
        is_test[perm[0]] = false;
    }
    let train: Vec<usize> = (0..n).filter(|&i| !is_test[i]).collect();
    let test: Vec<usize> = (0..n).filter(|&i| is_test[i]).collect();
    (train, test)
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
        let (x, d) = (train.x.as_standard_layout(), train.d());
        // Standard layout always has its rows in one slice; no features: no rows read.
        Self::from_row_slices(x.as_slice().unwrap_or(&[]).chunks_exact(d.max(1)), d)
    }

    /// Statistics of `rows` (each of length `d`), as [`Standardizer::fit`].
    pub fn from_rows(rows: &[Vec<f64>], d: usize) -> Self {
        Self::from_row_slices(rows.iter().map(Vec::as_slice), d)
    }

    /// Row after row (memory order), each column summed in row order.
    fn from_row_slices<'a>(rows: impl Iterator<Item = &'a [f64]> + Clone, d: usize) -> Self {
        let (mut mean, mut var, mut n) = (vec![0.0; d], vec![0.0; d], 0usize);
        for r in rows.clone() {
            mean.iter_mut().zip(r).for_each(|(m, v)| *m += v);
            n += 1;
        }
        let n = n.max(1) as f64;
        mean.iter_mut().for_each(|m| *m /= n);
        for r in rows {
            var.iter_mut().zip(r).zip(&mean).for_each(|((s, v), m)| *s += (v - m) * (v - m));
        }
        let scale = var.iter().zip(&mean).map(|(s, m)| Self::usable_scale((s / n).sqrt(), *m)).collect();
        Self { mean, scale }
    }

    /// A column's standard deviation, or 1 when the column is constant.
    fn usable_scale(sd: f64, mean: f64) -> f64 {
        if sd > 1e-12 * mean.abs().max(1.0) {
            sd
        } else {
            1.0
        }
    }

    /// Standardise `data` in place.
    pub fn apply(&self, data: &mut Dataset) {
        let (d, width) = (self.mean.len(), data.x.ncols());
        match data.x.as_slice_mut() {
            // Rows in memory order as plain slices (ndarray's row views cost more than
            // the arithmetic in the browser).
            Some(all) if d > 0 && width == d => all.chunks_exact_mut(d).for_each(|row| self.standardize(row)),
            _ => data.x.rows_mut().into_iter().for_each(|mut row| self.standardize(row.iter_mut())),
        }
    }

    /// `(v - mean) / scale` for each value of one row, in place.
    fn standardize<'a>(&self, row: impl IntoIterator<Item = &'a mut f64>) {
        row.into_iter().zip(self.mean.iter().zip(&self.scale)).for_each(|(v, (m, s))| *v = (*v - m) / s);
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
