//! The command line, declared with clap: every command takes the data flags
//! ([`DataArgs`]); `approx` and `lds` the method flags ([`MethodArgs`]). clap writes
//! the help and the usage errors; values are range-checked here (λ, δ ≥ 0) or by
//! [`MethodParams::check`](crate::engine::methods::MethodParams::check), which names
//! the flag.

use crate::engine::audit::review::ReviewScore;
use crate::engine::curvature::Curvature;
use crate::engine::methods::ihvp::LissaParams;
use crate::engine::methods::peers::TracInParams;
use crate::engine::methods::{Method, MethodParams};
use crate::engine::model::mlp::{Activation, MlpShape};
use crate::engine::model::{ModelKind, Net};
use crate::engine::pipeline::ModelSpec;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// `attrib`: influence functions, their approximations and real retraining, for
/// small models.
#[derive(Debug, Parser)]
#[command(
    name = "attrib",
    version,
    about = "Influence functions, their approximations and real retraining, for small models",
    after_help = "Conventions (Koh & Liang 2017): pred_loo_dloss[t][i] is the predicted change of test point \
t's loss when training point i is removed; positive means i helps t. Every method's scores are oriented the \
same way (larger = more helpful).\n\nEXIT STATUS: 0 on success, 2 on bad input (one line `error: ...` on stderr)."
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Exact influence of every training point on every test point.
    Influence(InfluenceArgs),
    /// Every method's scores and their agreement with exact influence.
    Approx(ApproxArgs),
    /// The linear datamodeling score of exact influence and the chosen methods.
    Lds(LdsArgs),
    /// Flip labels, rank by self-scores, report found-vs-checked curves and AUC.
    Mislabel(MislabelArgs),
    /// Rank the training rows for review (which labels to check first).
    Audit(AuditArgs),
    /// Find training rows whose removal flips one test prediction.
    Flip(FlipArgs),
    /// First-order, second-order and actual effects of removing a group.
    Group(GroupArgs),
    /// Print a shell completion script.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// The model on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModelArg {
    /// Binary logistic regression.
    Logistic,
    /// Multinomial (softmax) regression.
    Softmax,
    /// Linear (ridge) regression.
    Linear,
    /// A tiny neural network (see the network flags).
    Mlp,
}

/// A network's output layer and loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputArg {
    /// Binary logistic.
    Logistic,
    /// Softmax over the classes.
    Softmax,
    /// Linear (squared error).
    Linear,
}

impl From<OutputArg> for ModelKind {
    fn from(m: OutputArg) -> Self {
        match m {
            OutputArg::Logistic => ModelKind::Logistic,
            OutputArg::Softmax => ModelKind::Softmax,
            OutputArg::Linear => ModelKind::Linear,
        }
    }
}

/// A hidden activation on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ActivationArg {
    /// tanh.
    Tanh,
    /// log(1 + eᵘ).
    Softplus,
    /// u Φ(u).
    Gelu,
}

/// The curvature on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CurvatureArg {
    /// The exact Hessian.
    Hessian,
    /// The Gauss–Newton matrix.
    Ggn,
    /// Kronecker-factored GGN.
    Kfac,
    /// K-FAC with refitted eigenvalues.
    Ekfac,
}

/// A hidden layer's width, 2 to 64.
fn width(s: &str) -> Result<usize, String> {
    match s.trim().parse::<usize>() {
        Ok(w) if (2..=64).contains(&w) => Ok(w),
        _ => Err(format!("\"{s}\" is not a width from 2 to 64")),
    }
}

/// The network flags (used with `--model mlp`).
#[derive(Debug, Clone, Args)]
pub struct NetArgs {
    /// Hidden layer widths, one or two of 2 to 64, comma-separated (with --model mlp).
    #[arg(long, value_delimiter = ',', default_value = "16", value_parser = width, value_name = "W[,W]")]
    pub hidden: Vec<usize>,
    /// Hidden activation.
    #[arg(long, value_enum, default_value = "tanh")]
    pub activation: ActivationArg,
    /// Seed of the Glorot initialisation.
    #[arg(long, default_value_t = 0)]
    pub init_seed: u64,
    /// Stop training after N full-batch gradient steps, as practice does (default:
    /// train to a minimum).
    #[arg(long, value_name = "N")]
    pub train_steps: Option<usize>,
    /// The curvature that stands in for the Hessian.
    #[arg(long, value_enum, default_value = "hessian")]
    pub curvature: CurvatureArg,
    /// A network's output and loss (default: from the target, as for --model).
    #[arg(long, value_enum)]
    pub output: Option<OutputArg>,
}

/// A finite number ≥ 0.
fn non_negative(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a finite number ≥ 0")),
    }
}

/// A finite number.
fn finite(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() => Ok(v),
        _ => Err(format!("\"{s}\" is not a finite number")),
    }
}

/// A method's identifier.
fn method(s: &str) -> Result<Method, String> {
    Method::from_id(s.trim()).ok_or_else(|| {
        let known: Vec<&str> = Method::ALL.iter().map(|m| m.id()).collect();
        format!("unknown method \"{s}\" (known: {})", known.join(", "))
    })
}

/// The data flags every command shares.
#[derive(Debug, Clone, Args)]
pub struct DataArgs {
    /// Training CSV (header row; comma, semicolon or tab).
    #[arg(long, value_name = "FILE")]
    pub train: String,
    /// Test CSV with the same feature columns and the target.
    #[arg(long, value_name = "FILE")]
    pub test: String,
    /// Name of the target column.
    #[arg(long, value_name = "COL")]
    pub target: String,
    /// The model (default: from the target: two classes logistic, more softmax,
    /// numbers linear; mlp: a network whose output follows the target the same way).
    #[arg(long, value_enum)]
    pub model: Option<ModelArg>,
    /// The network.
    #[command(flatten)]
    pub net: NetArgs,
    /// L2 strength λ on the weights, (λ/2)‖W‖².
    #[arg(long, default_value_t = 0.01, value_parser = non_negative)]
    pub l2: f64,
    /// Add D·I to the Hessian for influence.
    #[arg(long, default_value_t = 0.0, value_parser = non_negative, value_name = "D")]
    pub damping: f64,
    /// z-score features with training statistics (default: as given).
    #[arg(long)]
    pub standardize: bool,
    /// Drop a column (repeatable).
    #[arg(long, value_name = "COL")]
    pub exclude: Vec<String>,
    /// Write the JSON to FILE instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<String>,
}

impl DataArgs {
    /// The model these flags ask for.
    pub fn spec(&self) -> Result<ModelSpec, String> {
        let n = &self.net;
        let curvature = match n.curvature {
            CurvatureArg::Hessian => Curvature::Hessian,
            CurvatureArg::Ggn => Curvature::Ggn,
            CurvatureArg::Kfac => Curvature::Kfac,
            CurvatureArg::Ekfac => Curvature::Ekfac,
        };
        let (kind, net) = match self.model {
            Some(ModelArg::Mlp) => {
                if n.hidden.is_empty() || n.hidden.len() > 2 {
                    return Err(format!(
                        "--hidden: a network has one or two hidden layers, not {}",
                        n.hidden.len()
                    ));
                }
                let activation = match n.activation {
                    ActivationArg::Tanh => Activation::Tanh,
                    ActivationArg::Softplus => Activation::Softplus,
                    ActivationArg::Gelu => Activation::Gelu,
                };
                let shape = MlpShape {
                    hidden: [n.hidden[0], n.hidden.get(1).copied().unwrap_or(0)],
                    layers: n.hidden.len(),
                    activation,
                    init_seed: n.init_seed,
                    train_steps: n.train_steps.unwrap_or(0),
                };
                (n.output.map(ModelKind::from), Net::Mlp(shape))
            }
            _ if n.output.is_some() || n.train_steps.is_some() => {
                return Err("--output and --train-steps are for --model mlp".into());
            }
            Some(m) => {
                let kind = match m {
                    ModelArg::Logistic => ModelKind::Logistic,
                    ModelArg::Softmax => ModelKind::Softmax,
                    _ => ModelKind::Linear,
                };
                (Some(kind), Net::Linear)
            }
            None => (None, Net::Linear),
        };
        Ok(ModelSpec { kind, lambda: self.l2, damping: self.damping, net, curvature })
    }
}

/// `attrib influence`.
#[derive(Debug, Args)]
pub struct InfluenceArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Also retrain without each training point (actual_loo_*).
    #[arg(long)]
    pub loo: bool,
    /// Also predict and retrain with each point's weight 1 + E·n.
    #[arg(long, value_name = "E", value_parser = finite)]
    pub reweight_eps: Option<f64>,
    /// Also solve the proximal Bregman response function of every point
    /// (actual_pbrf_dloss; Bae et al. 2022), with the --damping as its δ.
    #[arg(long)]
    pub pbrf: bool,
    /// Also retrain from S initialisation seeds with and without every point
    /// (scratch_dloss_mean, scratch_dloss_se, scratch_noise). S × (n + 1) fits.
    #[arg(long, value_name = "S", value_parser = clap::value_parser!(u32).range(2..=50))]
    pub scratch_seeds: Option<u32>,
    /// Compute everything R times in this process and report each phase's median time
    /// (timings_ms; for benchmarks, e.g. scripts/numpy_compare.py). The numbers are
    /// those of the last run (every run gives the same).
    #[arg(long, value_name = "R", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub repeat: u32,
}

/// The method flags (defaults as [`MethodParams::default`]).
#[derive(Debug, Clone, Args)]
pub struct MethodArgs {
    /// Comma-separated methods (default: every one but tmc_shapley, which retrains a lot).
    #[arg(long, value_delimiter = ',', value_parser = method, value_name = "LIST")]
    pub methods: Vec<Method>,
    /// CG relative residual.
    #[arg(long, default_value_t = 1e-10)]
    pub cg_tol: f64,
    /// CG steps.
    #[arg(long, default_value_t = 1000)]
    pub cg_max_iter: usize,
    /// LiSSA recursion depth J.
    #[arg(long, default_value_t = 200)]
    pub lissa_depth: usize,
    /// LiSSA repeats averaged.
    #[arg(long, default_value_t = 4)]
    pub lissa_repeats: usize,
    /// LiSSA scale s (default: 2× the largest eigenvalue of H + δI).
    #[arg(long)]
    pub lissa_scale: Option<f64>,
    /// LiSSA mini-batch size.
    #[arg(long, default_value_t = 64)]
    pub lissa_batch: usize,
    /// LiSSA seed.
    #[arg(long, default_value_t = 0)]
    pub lissa_seed: u64,
    /// Arnoldi eigenpairs kept.
    #[arg(long, default_value_t = 10)]
    pub arnoldi_k: usize,
    /// Arnoldi start seed.
    #[arg(long, default_value_t = 0)]
    pub arnoldi_seed: u64,
    /// TracIn learning rate (default: 1/λ_max of the Hessian at θ = 0, always stable).
    #[arg(long)]
    pub tracin_lr: Option<f64>,
    /// TracIn epochs = checkpoints.
    #[arg(long, default_value_t = 20)]
    pub tracin_epochs: usize,
    /// TracIn mini-batch size.
    #[arg(long, default_value_t = 32)]
    pub tracin_batch: usize,
    /// TracIn seed.
    #[arg(long, default_value_t = 0)]
    pub tracin_seed: u64,
    /// TRAK projection dimension.
    #[arg(long, default_value_t = 20)]
    pub trak_k: usize,
    /// TRAK projections averaged.
    #[arg(long, default_value_t = 8)]
    pub trak_models: usize,
    /// TRAK projection seed.
    #[arg(long, default_value_t = 0)]
    pub trak_seed: u64,
    /// KNN-Shapley neighbours.
    #[arg(long, default_value_t = 5)]
    pub knn_k: usize,
    /// TMC-Shapley permutations.
    #[arg(long, default_value_t = 20)]
    pub shapley_permutations: usize,
    /// TMC-Shapley truncation tolerance (on the probability of the test label).
    #[arg(long, default_value_t = 1e-3)]
    pub shapley_truncation: f64,
    /// TMC-Shapley seed.
    #[arg(long, default_value_t = 0)]
    pub shapley_seed: u64,
}

impl MethodArgs {
    /// The chosen methods (the default list when none are named).
    pub fn methods(&self) -> Vec<Method> {
        if self.methods.is_empty() {
            Method::DEFAULT.to_vec()
        } else {
            self.methods.clone()
        }
    }

    /// The parameters, unchecked (check with [`MethodParams::check`]).
    pub fn params(&self) -> MethodParams {
        MethodParams {
            cg_tol: self.cg_tol,
            cg_max_iter: self.cg_max_iter,
            lissa: LissaParams {
                depth: self.lissa_depth,
                repeats: self.lissa_repeats,
                scale: self.lissa_scale.unwrap_or(LissaParams::default().scale),
                damping: 0.0,
                batch: self.lissa_batch,
                seed: self.lissa_seed,
            },
            lissa_scale_factor: if self.lissa_scale.is_some() {
                None
            } else {
                MethodParams::default().lissa_scale_factor
            },
            arnoldi_k: self.arnoldi_k,
            arnoldi_seed: self.arnoldi_seed,
            tracin: TracInParams {
                lr: self.tracin_lr,
                epochs: self.tracin_epochs,
                batch: self.tracin_batch,
                seed: self.tracin_seed,
            },
            trak_k: self.trak_k,
            trak_models: self.trak_models,
            trak_seed: self.trak_seed,
            knn_k: self.knn_k,
            shapley_permutations: self.shapley_permutations,
            shapley_truncation: self.shapley_truncation,
            shapley_seed: self.shapley_seed,
        }
    }
}

/// `attrib approx`.
#[derive(Debug, Args)]
pub struct ApproxArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The methods.
    #[command(flatten)]
    pub methods: MethodArgs,
    /// Also compare every method with actual leave-one-out.
    #[arg(long)]
    pub loo: bool,
    /// Size of the top-k overlap.
    #[arg(long, default_value_t = 10)]
    pub top_k: usize,
}

/// `attrib lds`.
#[derive(Debug, Args)]
pub struct LdsArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The methods.
    #[command(flatten)]
    pub methods: MethodArgs,
    /// Retrained subsets (2 to 10,000).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(2..=10_000))]
    pub subsets: u32,
    /// Subset fraction, above 0 and below 1.
    #[arg(long, default_value_t = 0.5, value_parser = fraction)]
    pub alpha: f64,
    /// Subset seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// `attrib mislabel`.
#[derive(Debug, Args)]
pub struct MislabelArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// Fraction of training labels flipped, above 0 and below 1.
    #[arg(long, default_value_t = 0.1, value_parser = fraction)]
    pub flip_fraction: f64,
    /// Flip seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// TracIn learning rate (default: 1/λ_max of the Hessian at θ = 0).
    #[arg(long)]
    pub tracin_lr: Option<f64>,
    /// TracIn epochs.
    #[arg(long, default_value_t = 20)]
    pub tracin_epochs: usize,
}

/// A number strictly between 0 and 1.
fn fraction(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v > 0.0 && v < 1.0 => Ok(v),
        _ => Err(format!("\"{s}\" is not a number above 0 and below 1")),
    }
}

/// A review ranking on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum RankArg {
    /// g_iᵀ H⁻¹ g_i.
    SelfInfluence,
    /// The row's training loss.
    TrainLoss,
    /// ‖g_i‖.
    GradNorm,
    /// TracIn of the row with itself.
    TracinSelf,
    /// Predicted fall of the mean test loss without the row.
    TestHarm,
}

impl From<RankArg> for ReviewScore {
    fn from(r: RankArg) -> Self {
        match r {
            RankArg::SelfInfluence => ReviewScore::SelfInfluence,
            RankArg::TrainLoss => ReviewScore::TrainLoss,
            RankArg::GradNorm => ReviewScore::GradNorm,
            RankArg::TracinSelf => ReviewScore::TracinSelf,
            RankArg::TestHarm => ReviewScore::TestHarm,
        }
    }
}

/// `attrib audit`.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The ranking that orders the review queue.
    #[arg(long, value_enum, default_value = "self_influence")]
    pub rank: RankArg,
    /// Candidates listed (at least 1).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub top: u32,
}

/// `attrib flip`.
#[derive(Debug, Args)]
pub struct FlipArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The test row (0-based) whose prediction to flip.
    #[arg(long, value_name = "T")]
    pub test_index: usize,
    /// The largest set tried (default: 10% of the training rows).
    #[arg(long, value_name = "K", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_removed: Option<u32>,
    /// Regression: the value the prediction has to cross.
    #[arg(long, value_parser = finite)]
    pub threshold: Option<f64>,
}

/// `attrib group`.
#[derive(Debug, Args)]
pub struct GroupArgs {
    /// The data.
    #[command(flatten)]
    pub data: DataArgs,
    /// The group's training rows (0-based), comma-separated.
    #[arg(long, value_delimiter = ',', required = true, value_name = "I,J,K")]
    pub members: Vec<usize>,
    /// Also report the effect on this test row's loss.
    #[arg(long, value_name = "T")]
    pub test_index: Option<usize>,
}
