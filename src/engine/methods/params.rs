//! The methods' parameters, checked in one place (as linfa's `ParamGuard`): the CLI,
//! the worker and the page build a [`MethodParams`], and [`MethodParams::check`] turns
//! it into [`CheckedParams`], the only form a solver accepts. A bad value is a
//! [`ParamError`] naming the parameter, never a silent clamp.

use super::ihvp::LissaParams;
use super::peers::TracInParams;
use crate::said::Said;
use crate::text::Text;
use serde::{Deserialize, Serialize};

/// Parameters of every method, with the defaults the CLI documents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodParams {
    /// CG relative residual.
    pub cg_tol: f64,
    /// CG steps.
    pub cg_max_iter: usize,
    /// LiSSA (its `scale` is replaced by `lissa_scale_factor × λ_max` when that is set,
    /// and its damping is the influence damping).
    pub lissa: LissaParams,
    /// LiSSA scale as a multiple of the largest eigenvalue of `H + δI`.
    pub lissa_scale_factor: Option<f64>,
    /// Arnoldi eigenpairs kept.
    pub arnoldi_k: usize,
    /// Arnoldi start seed.
    pub arnoldi_seed: u64,
    /// TracIn.
    pub tracin: TracInParams,
    /// TRAK projection dimension.
    pub trak_k: usize,
    /// TRAK projections averaged (the ensemble).
    pub trak_models: usize,
    /// TRAK projection seed.
    pub trak_seed: u64,
    /// KNN-Shapley neighbours.
    pub knn_k: usize,
    /// TMC-Shapley permutations.
    pub shapley_permutations: usize,
    /// TMC-Shapley truncation tolerance (on the probability of the test label).
    pub shapley_truncation: f64,
    /// TMC-Shapley seed.
    pub shapley_seed: u64,
}

impl Default for MethodParams {
    fn default() -> Self {
        Self {
            cg_tol: 1e-10,
            cg_max_iter: 1000,
            lissa: LissaParams::default(),
            lissa_scale_factor: Some(2.0),
            arnoldi_k: 10,
            arnoldi_seed: 0,
            tracin: TracInParams::default(),
            trak_k: 20,
            trak_models: 8,
            trak_seed: 0,
            knn_k: 5,
            shapley_permutations: 20,
            shapley_truncation: 1e-3,
            shapley_seed: 0,
        }
    }
}

/// Largest seed: 2^53 − 1, exact in a JavaScript number (the page sends seeds to its
/// worker as numbers).
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// A parameter outside its range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("{}", self.said())]
pub struct ParamError {
    /// The parameter (`cg_tol`, `lissa_depth`, …; the CLI flag is `--` and the name
    /// with `-` for `_`).
    pub name: String,
    /// The value given, as text.
    pub value: String,
    /// The allowed range, in words.
    pub expected: Said,
}

impl ParamError {
    /// The command-line flag of the parameter.
    pub fn flag(&self) -> String {
        format!("--{}", self.name.replace('_', "-"))
    }

    /// The error in words ([`crate::said`]).
    pub fn said(&self) -> Said {
        Said::new(Text::ErrParam)
            .with("name", &self.name)
            .with("value", &self.value)
            .with_said("expected", self.expected.clone())
    }
}

/// Parameters that passed [`MethodParams::check`] (read them through `Deref`; the
/// default parameters are valid).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CheckedParams(MethodParams);

impl std::ops::Deref for CheckedParams {
    type Target = MethodParams;
    fn deref(&self) -> &MethodParams {
        &self.0
    }
}

fn whole(name: &str, v: usize, lo: usize, hi: usize) -> Result<(), ParamError> {
    if (lo..=hi).contains(&v) {
        Ok(())
    } else {
        Err(ParamError {
            name: name.into(),
            value: v.to_string(),
            expected: Said::new(Text::ExpectWhole).with("lo", lo).with("hi", hi),
        })
    }
}

fn positive(name: &str, v: f64, below: f64) -> Result<(), ParamError> {
    if v.is_finite() && v > 0.0 && v < below {
        Ok(())
    } else {
        Err(ParamError {
            name: name.into(),
            value: v.to_string(),
            expected: Said::new(Text::ExpectPositive).with("below", format!("{below:e}")),
        })
    }
}

impl MethodParams {
    /// Check every parameter; the result is what the methods take.
    pub fn check(self) -> Result<CheckedParams, ParamError> {
        positive("cg_tol", self.cg_tol, 1.0)?;
        whole("cg_max_iter", self.cg_max_iter, 1, 100_000)?;
        let l = &self.lissa;
        whole("lissa_depth", l.depth, 1, 100_000)?;
        whole("lissa_repeats", l.repeats, 1, 1000)?;
        whole("lissa_batch", l.batch, 1, 1_000_000)?;
        match self.lissa_scale_factor {
            Some(f) => positive("lissa_scale_factor", f, 1e6)?,
            None => positive("lissa_scale", l.scale, 1e300)?,
        }
        if l.depth.saturating_mul(l.repeats) > 1_000_000 {
            return Err(ParamError {
                name: "lissa_depth".into(),
                value: l.depth.to_string(),
                expected: Said::new(Text::ExpectLissaSteps)
                    .with("max", 1_000_000 / l.repeats)
                    .with("repeats", l.repeats),
            });
        }
        whole("arnoldi_k", self.arnoldi_k, 1, 10_000)?;
        if let Some(lr) = self.tracin.lr {
            positive("tracin_lr", lr, 1e6)?;
        }
        whole("tracin_epochs", self.tracin.epochs, 1, 10_000)?;
        whole("tracin_batch", self.tracin.batch, 1, 1_000_000)?;
        whole("trak_k", self.trak_k, 1, 10_000)?;
        whole("trak_models", self.trak_models, 1, 256)?;
        whole("knn_k", self.knn_k, 1, 100_000)?;
        whole("shapley_permutations", self.shapley_permutations, 1, 10_000)?;
        if !(self.shapley_truncation.is_finite() && (0.0..1.0).contains(&self.shapley_truncation)) {
            return Err(ParamError {
                name: "shapley_truncation".into(),
                value: self.shapley_truncation.to_string(),
                expected: Said::new(Text::ExpectFraction),
            });
        }
        for (name, seed) in [
            ("lissa_seed", self.lissa.seed),
            ("arnoldi_seed", self.arnoldi_seed),
            ("tracin_seed", self.tracin.seed),
            ("trak_seed", self.trak_seed),
            ("shapley_seed", self.shapley_seed),
        ] {
            if seed > MAX_SEED {
                return Err(ParamError {
                    name: name.into(),
                    value: seed.to_string(),
                    expected: Said::new(Text::ExpectWhole).with("lo", 0).with("hi", MAX_SEED),
                });
            }
        }
        Ok(CheckedParams(self))
    }
}
