//! Datasets: a numeric feature matrix and a target, from CSV files or built in.
//!
//! A classification target holds class indices `0..K` (as `f64`) with the class names
//! kept for display; a regression target holds real values.

pub mod builtin;
pub mod columns;
pub mod csv;
pub mod prep;

use ndarray::Array2;
use serde::{Deserialize, Serialize};

/// What the target column means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Target {
    /// Class indices `0..names.len()`; `names[k]` is how class `k` is shown.
    Classes {
        /// Display names, one per class.
        names: Vec<String>,
    },
    /// A real-valued target (regression).
    Real,
}

impl Target {
    /// Number of classes (0 for a real target).
    pub fn n_classes(&self) -> usize {
        match self {
            Target::Classes { names } => names.len(),
            Target::Real => 0,
        }
    }

    /// The class names (none for a real target).
    pub fn class_names(&self) -> Vec<String> {
        match self {
            Target::Classes { names } => names.clone(),
            Target::Real => vec![],
        }
    }
}

/// A numeric dataset: `x` is n × d, `y` has n entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dataset {
    /// Feature names, d of them.
    pub feature_names: Vec<String>,
    /// Name of the target column.
    pub target_name: String,
    /// Features, one row per example.
    pub x: Array2<f64>,
    /// Targets: class index (as f64) or real value.
    pub y: Vec<f64>,
    /// How to read `y`.
    pub target: Target,
}

/// The rows `idx` of `x`, each copied whole (ndarray's `select` joins one view per
/// row: 35 ms for a 40,000-row upload in the browser, against a few for the copies).
fn select_rows(x: &Array2<f64>, idx: &[usize]) -> Array2<f64> {
    let d = x.ncols();
    let mut rows = Vec::with_capacity(idx.len() * d);
    for &i in idx {
        match x.row(i).as_slice() {
            Some(r) => rows.extend_from_slice(r),
            None => rows.extend(x.row(i).iter()),
        }
    }
    Array2::from_shape_vec((idx.len(), d), rows).unwrap_or_else(|_| x.select(ndarray::Axis(0), idx))
}

/// The values of `x` row after row, moved out of it when it is stored that way (copied
/// into that order otherwise).
fn row_major(x: Array2<f64>) -> Vec<f64> {
    let len = x.len();
    let x = if x.is_standard_layout() { x } else { x.as_standard_layout().into_owned() };
    let (mut values, offset) = x.into_raw_vec_and_offset();
    let start = offset.unwrap_or(0);
    values.truncate(start + len);
    values.drain(..start);
    values
}

impl Dataset {
    /// The features, row after row (a copy of the whole matrix at memory speed).
    pub fn rows_flat(&self) -> Vec<f64> {
        self.x.as_slice().map_or_else(|| self.x.iter().copied().collect(), <[f64]>::to_vec)
    }

    /// `f(i, row i)` for every row, in order, each row a slice (the matrix is copied
    /// only if it is not stored row after row).
    pub fn for_each_row(&self, mut f: impl FnMut(usize, &[f64])) {
        let x = self.x.as_standard_layout();
        let rows = x.as_slice().unwrap_or(&[]).chunks_exact(self.d().max(1));
        rows.enumerate().for_each(|(i, r)| f(i, r));
    }

    /// The features row after row and the targets, taken out of the dataset: a matrix
    /// stored row after row is not copied.
    pub fn into_rows(self) -> (Vec<f64>, Vec<f64>) {
        (row_major(self.x), self.y)
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.x.nrows()
    }

    /// Number of features.
    pub fn d(&self) -> usize {
        self.x.ncols()
    }

    /// Number of classes (0 for regression).
    pub fn n_classes(&self) -> usize {
        self.target.n_classes()
    }

    /// The rows `idx` as a new dataset with the same columns and classes.
    pub fn select(&self, idx: &[usize]) -> Dataset {
        Dataset {
            feature_names: self.feature_names.clone(),
            target_name: self.target_name.clone(),
            x: select_rows(&self.x, idx),
            y: idx.iter().map(|&i| self.y[i]).collect(),
            target: self.target.clone(),
        }
    }

    /// The rows `keep` as one dataset and the rows `take` as another, `keep`'s rows
    /// moved down inside this dataset's own matrix rather than copied into a new one
    /// (a large upload's training rows are most of its memory). `keep` must ascend for
    /// that; otherwise both are copies, as [`Dataset::select`] makes them.
    pub fn into_parts(self, keep: &[usize], take: &[usize]) -> (Dataset, Dataset) {
        let taken = self.select(take);
        let (n, d) = (self.n(), self.d());
        let ascending = keep.windows(2).all(|w| w[0] < w[1]) && keep.last().is_none_or(|&i| i < n);
        if !ascending {
            return (self.select(keep), taken);
        }
        let Dataset { feature_names, target_name, x, y, target } = self;
        let mut rows = row_major(x);
        // Row i moves to k ≤ i: every row still to move lies above what is written.
        for (k, &i) in keep.iter().enumerate() {
            if i != k {
                rows.copy_within(i * d..(i + 1) * d, k * d);
            }
        }
        rows.truncate(keep.len() * d);
        // The rows taken leave their space to the allocator (a shrink in place).
        rows.shrink_to_fit();
        // `rows` holds keep.len() · d values by construction.
        let x = Array2::from_shape_vec((keep.len(), d), rows).unwrap_or_else(|_| Array2::zeros((0, d)));
        let y = keep.iter().map(|&i| y[i]).collect();
        (Dataset { feature_names, target_name, x, y, target }, taken)
    }

    /// How a target value reads to a person: the class name, or the number.
    pub fn label_text(&self, y: f64) -> String {
        match &self.target {
            Target::Classes { names } => names.get(y as usize).cloned().unwrap_or_else(|| format!("{y}")),
            Target::Real => format!("{y:.4}"),
        }
    }
}
