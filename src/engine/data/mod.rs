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

impl Dataset {
    /// The features, row after row (a copy of the whole matrix at memory speed).
    pub fn rows_flat(&self) -> Vec<f64> {
        self.x.as_slice().map_or_else(|| self.x.iter().copied().collect(), <[f64]>::to_vec)
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
        match &self.target {
            Target::Classes { names } => names.len(),
            Target::Real => 0,
        }
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

    /// How a target value reads to a person: the class name, or the number.
    pub fn label_text(&self, y: f64) -> String {
        match &self.target {
            Target::Classes { names } => names.get(y as usize).cloned().unwrap_or_else(|| format!("{y}")),
            Target::Real => format!("{y:.4}"),
        }
    }
}
