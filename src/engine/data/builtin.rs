//! Built-in datasets, embedded in the binary: seeded 2-D generators (and a 1-D and a
//! 2-D regression toy) and four small real tables.
//!
//! The generators use the portable [`Rng`] and `libm`'s trigonometry, so a seed gives
//! bit-identical points natively and in the browser. The tables are the copies shipped with scikit-learn (BSD-3),
//! originally from the UCI Machine Learning Repository; sources in the README.

use super::csv::{read_dataset, ColumnSpec, CsvError, TargetKind};
use super::{Dataset, Target};
use crate::engine::rng::Rng;
use ndarray::Array2;
use serde::{Deserialize, Serialize};
use std::f64::consts::PI;

/// A built-in dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Builtin {
    /// Two interleaved half circles, 2 classes.
    Moons,
    /// A ring around a disc, 2 classes (not linearly separable).
    Circles,
    /// Quadrant parity, 2 classes (not linearly separable).
    Xor,
    /// Three Gaussian blobs, 3 classes.
    Blobs,
    /// Three interleaved spiral arms, 3 classes.
    Spirals,
    /// 1-D regression: `y = sin(x) + 0.3 x + noise`.
    Wave1d,
    /// 2-D regression: `y = 1.5 x₁ − x₂ + 0.5 + noise`.
    Plane2d,
    /// Fisher's iris: 150 × 4, 3 species.
    Iris,
    /// Wine recognition: 178 × 13, 3 cultivars.
    Wine,
    /// Breast cancer Wisconsin (diagnostic): 569 × 30, malignant or benign.
    BreastCancer,
    /// Diabetes progression: 442 × 10, regression.
    Diabetes,
}

/// Size, noise and seed of a generated dataset (ignored by the real tables).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct GeneratorParams {
    /// Number of points.
    pub n: usize,
    /// Standard deviation of the Gaussian noise.
    pub noise: f64,
    /// Seed of the generator.
    pub seed: u64,
}

impl Default for GeneratorParams {
    fn default() -> Self {
        Self { n: 200, noise: 0.2, seed: 1 }
    }
}

/// Largest generated dataset.
pub const MAX_GENERATED: usize = 20_000;

impl Builtin {
    /// Every built-in dataset, generators first.
    pub const ALL: [Builtin; 11] = [
        Builtin::Moons,
        Builtin::Circles,
        Builtin::Xor,
        Builtin::Blobs,
        Builtin::Spirals,
        Builtin::Wave1d,
        Builtin::Plane2d,
        Builtin::Iris,
        Builtin::Wine,
        Builtin::BreastCancer,
        Builtin::Diabetes,
    ];

    /// The identifier used in URLs and on the command line.
    pub fn id(self) -> &'static str {
        match self {
            Builtin::Moons => "moons",
            Builtin::Circles => "circles",
            Builtin::Xor => "xor",
            Builtin::Blobs => "blobs",
            Builtin::Spirals => "spirals",
            Builtin::Wave1d => "wave1d",
            Builtin::Plane2d => "plane2d",
            Builtin::Iris => "iris",
            Builtin::Wine => "wine",
            Builtin::BreastCancer => "breast_cancer",
            Builtin::Diabetes => "diabetes",
        }
    }

    /// The dataset with identifier `id`.
    pub fn from_id(id: &str) -> Option<Builtin> {
        Builtin::ALL.into_iter().find(|b| b.id() == id)
    }

    /// A name for people.
    pub fn title(self) -> &'static str {
        match self {
            Builtin::Moons => "Two moons",
            Builtin::Circles => "Concentric circles",
            Builtin::Xor => "XOR",
            Builtin::Blobs => "Gaussian blobs (3 classes)",
            Builtin::Spirals => "Spirals (3 classes)",
            Builtin::Wave1d => "1-D regression (wave)",
            Builtin::Plane2d => "2-D regression (plane)",
            Builtin::Iris => "Iris (150 × 4, 3 classes)",
            Builtin::Wine => "Wine (178 × 13, 3 classes)",
            Builtin::BreastCancer => "Breast cancer (569 × 30, 2 classes)",
            Builtin::Diabetes => "Diabetes (442 × 10, regression)",
        }
    }

    /// Whether size, noise and seed apply.
    pub fn is_generated(self) -> bool {
        !matches!(self, Builtin::Iris | Builtin::Wine | Builtin::BreastCancer | Builtin::Diabetes)
    }

    /// Build the dataset. Generated sizes are clamped to `4..=MAX_GENERATED` and
    /// negative noise to 0.
    pub fn load(self, p: &GeneratorParams) -> Result<Dataset, CsvError> {
        let (n, noise) = (p.n.clamp(4, MAX_GENERATED), p.noise.max(0.0));
        let mut rng = Rng::new(p.seed);
        let table = |text: &str, target: &str| {
            let spec = ColumnSpec { target: target.into(), exclude: vec![], kind: TargetKind::Auto };
            read_dataset(text, &spec)
        };
        Ok(match self {
            Builtin::Moons => moons(n, noise, &mut rng),
            Builtin::Circles => circles(n, noise, &mut rng),
            Builtin::Xor => xor(n, noise, &mut rng),
            Builtin::Blobs => blobs(n, noise, &mut rng),
            Builtin::Spirals => spirals(n, noise, &mut rng),
            Builtin::Wave1d => wave1d(n, noise, &mut rng),
            Builtin::Plane2d => plane2d(n, noise, &mut rng),
            Builtin::Iris => table(include_str!("../../../www/data/iris.csv"), "species")?,
            Builtin::Wine => table(include_str!("../../../www/data/wine.csv"), "cultivar")?,
            Builtin::BreastCancer => table(include_str!("../../../www/data/breast_cancer.csv"), "diagnosis")?,
            Builtin::Diabetes => table(include_str!("../../../www/data/diabetes.csv"), "progression")?,
        })
    }
}

/// The synthetic datasets' classes: letters, the same in every language ("class A"
/// would stay English on the Japanese page).
fn classes(k: usize) -> Target {
    Target::Classes { names: (0..k).map(|c| ((b'A' + c as u8) as char).to_string()).collect() }
}

/// Assemble a 2-D classification dataset from points, labels and Gaussian jitter.
fn points(pts: Vec<([f64; 2], usize)>, k: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let mut x = Array2::zeros((pts.len(), 2));
    let mut y = Vec::with_capacity(pts.len());
    for (i, (p, c)) in pts.into_iter().enumerate() {
        x[[i, 0]] = p[0] + noise * rng.normal();
        x[[i, 1]] = p[1] + noise * rng.normal();
        y.push(c as f64);
    }
    Dataset {
        feature_names: vec!["x1".into(), "x2".into()],
        target_name: "class".into(),
        x,
        y,
        target: classes(k),
    }
}

fn moons(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let pts = (0..n)
        .map(|i| {
            let t = PI * rng.uniform();
            if i % 2 == 0 {
                ([libm::cos(t), libm::sin(t)], 0)
            } else {
                ([1.0 - libm::cos(t), 0.5 - libm::sin(t)], 1)
            }
        })
        .collect();
    points(pts, 2, noise, rng)
}

fn circles(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let pts = (0..n)
        .map(|i| {
            let t = 2.0 * PI * rng.uniform();
            let r = if i % 2 == 0 { 1.0 } else { 0.5 };
            ([r * libm::cos(t), r * libm::sin(t)], i % 2)
        })
        .collect();
    points(pts, 2, noise, rng)
}

fn xor(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let pts = (0..n)
        .map(|_| {
            let (a, b) = (2.0 * rng.uniform() - 1.0, 2.0 * rng.uniform() - 1.0);
            ([a, b], usize::from(a * b > 0.0))
        })
        .collect();
    points(pts, 2, noise, rng)
}

fn blobs(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let pts = (0..n)
        .map(|i| {
            let c = i % 3;
            let angle = PI / 2.0 + 2.0 * PI * c as f64 / 3.0;
            let spread = 0.6;
            let p = [
                2.0 * libm::cos(angle) + spread * rng.normal(),
                2.0 * libm::sin(angle) + spread * rng.normal(),
            ];
            (p, c)
        })
        .collect();
    points(pts, 3, noise, rng)
}

fn spirals(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let pts = (0..n)
        .map(|i| {
            let c = i % 3;
            let r = rng.uniform();
            let t = 4.0 * r + 2.0 * PI * c as f64 / 3.0;
            ([r * libm::cos(t), r * libm::sin(t)], c)
        })
        .collect();
    points(pts, 3, noise * 0.5, rng)
}

fn regression(x: Array2<f64>, y: Vec<f64>, names: &[&str]) -> Dataset {
    Dataset {
        feature_names: names.iter().map(|s| s.to_string()).collect(),
        target_name: "y".into(),
        x,
        y,
        target: Target::Real,
    }
}

fn wave1d(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let mut x = Array2::zeros((n, 1));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let v = 6.0 * rng.uniform() - 3.0;
        x[[i, 0]] = v;
        y.push(libm::sin(v) + 0.3 * v + noise * rng.normal());
    }
    regression(x, y, &["x"])
}

fn plane2d(n: usize, noise: f64, rng: &mut Rng) -> Dataset {
    let mut x = Array2::zeros((n, 2));
    let mut y = Vec::with_capacity(n);
    for i in 0..n {
        let (a, b) = (4.0 * rng.uniform() - 2.0, 4.0 * rng.uniform() - 2.0);
        x[[i, 0]] = a;
        x[[i, 1]] = b;
        y.push(1.5 * a - b + 0.5 + noise * rng.normal());
    }
    regression(x, y, &["x1", "x2"])
}
