//! Everything needed to reproduce a view, as a URL query: dataset (or the marker that
//! the data were uploaded: uploaded data never go into a link), generator parameters,
//! model, λ, damping, standardisation, split seed, the explained point, the scrubbed
//! training point and its weight, and the edits. Parsing is lenient: a missing or
//! malformed value falls back to its default, so any link opens a working page.
//!
//! Keys: `ds n noise seed model l2 damp std split sel tp w rm flip add target embed
//! panels host view lang lesson step`, for an uploaded file `xcol` (columns left out), `idcol` and `dropna`,
//! and for a network (`model=mlp`): `hidden` (one or two widths), `act`, `iseed`,
//! `steps` (an early-stop budget), `out` (its output, when not automatic); `curv` (the
//! curvature, when not the Hessian).

use crate::engine::curvature::Curvature;
use crate::engine::data::builtin::GeneratorParams;
use crate::engine::data::columns::UploadOptions;
use crate::engine::model::mlp::{Activation, MlpShape};
use crate::engine::model::ModelKind;
use crate::lang::Lang;
use crate::protocol::{AddedPoint, DataSource, Edits, Selection, TrainSpec};

/// The reproducible state of the page.
#[derive(Debug, Clone, PartialEq)]
pub struct ViewState {
    /// Built-in dataset id, or [`UPLOAD`].
    pub dataset: String,
    /// Generator parameters.
    pub params: GeneratorParams,
    /// Model override (a network's output).
    pub model: Option<ModelKind>,
    /// A tiny neural network in place of the convex model.
    pub network: Option<MlpShape>,
    /// The curvature of influence.
    pub curvature: Curvature,
    /// L2 strength.
    pub lambda: f64,
    /// Hessian damping.
    pub damping: f64,
    /// Standardise features.
    pub standardize: bool,
    /// Train/test split seed.
    pub split_seed: u64,
    /// The explained point.
    pub selection: Selection,
    /// The training point on the scrubber.
    pub train_point: Option<usize>,
    /// Its weight.
    pub weight: f64,
    /// Edits of the training set.
    pub edits: Edits,
    /// Target column of an uploaded file.
    pub target: Option<String>,
    /// Columns left out, the ID column and dropping of rows with missing cells, for an
    /// uploaded file (in links, so that data carried by the link itself, `#data=`,
    /// reopen exactly; a file never goes into a link otherwise).
    pub columns: UploadChoices,
    /// Embedded in an iframe: plot and explanation only (unless `panels` says more).
    pub embed: bool,
    /// The parts shown (`panels=plot,list,…`); `None` shows what `embed` implies.
    pub panels: Option<Vec<Panel>>,
    /// The origin of a host page allowed to drive an embedded explorer
    /// ([`crate::embed_api`]); `None`: the page's own origin only.
    pub host: Option<String>,
    /// The tab shown.
    pub tab: Tab,
    /// The page's language (`lang=`); `None`: the browser's.
    pub lang: Option<Lang>,
    /// The lesson open and its step (`lesson=N&step=K`, both counted from 1).
    pub lesson: Option<LessonAt>,
}

/// A step of a guided lesson ([`crate::lesson`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LessonAt {
    /// The lesson, from 1.
    pub number: usize,
    /// The step, from 0 (from 1 in the URL).
    pub step: usize,
}

/// The page's tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tab {
    /// The main explorer.
    #[default]
    Explore,
    /// Every method side by side.
    Methods,
    /// Hessian and solvers.
    Diagnostics,
    /// Mislabel detection.
    Mislabel,
    /// Linear datamodeling score.
    Lds,
    /// Predicted changes against the three ground truths.
    Truths,
    /// The review queue: which labels to check first.
    Audit,
}

impl Tab {
    /// Every tab with its label.
    pub const ALL: [(Tab, &'static str); 7] = [
        (Tab::Explore, "Explore"),
        (Tab::Audit, "Audit"),
        (Tab::Methods, "Methods"),
        (Tab::Diagnostics, "Diagnostics"),
        (Tab::Truths, "Which truth?"),
        (Tab::Mislabel, "Mislabel lab"),
        (Tab::Lds, "LDS"),
    ];
}

impl Tab {
    /// The identifier in the URL (`view=`).
    pub fn id(self) -> &'static str {
        match self {
            Tab::Explore => "explore",
            Tab::Methods => "methods",
            Tab::Diagnostics => "diagnostics",
            Tab::Mislabel => "mislabel",
            Tab::Lds => "lds",
            Tab::Truths => "truths",
            Tab::Audit => "audit",
        }
    }

    /// The tab with identifier `id`.
    pub fn from_id(id: &str) -> Option<Tab> {
        Tab::ALL.into_iter().map(|(t, _)| t).find(|t| t.id() == id)
    }
}

/// A part of the page that `?panels=` can show or hide (for embedding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Panel {
    /// Title, links and the tab bar.
    Header,
    /// Dataset, model and settings.
    Data,
    /// The scatter plot with the decision surface.
    Plot,
    /// The weight scrubber of a picked training point.
    Scrubber,
    /// The ranked influence list.
    List,
    /// The leave-one-out check.
    Check,
    /// "What would change this prediction?"
    Flip,
    /// "Remove a group".
    Group,
    /// The tab's own content on a tab other than Explore (Methods, Diagnostics, …).
    Tab,
}

impl Panel {
    /// Every panel with its identifier in `panels=`.
    pub const ALL: [(Panel, &'static str); 9] = [
        (Panel::Header, "header"),
        (Panel::Data, "data"),
        (Panel::Plot, "plot"),
        (Panel::Scrubber, "scrubber"),
        (Panel::List, "list"),
        (Panel::Check, "check"),
        (Panel::Flip, "flip"),
        (Panel::Group, "group"),
        (Panel::Tab, "tab"),
    ];

    /// The identifier in `panels=`.
    pub fn id(self) -> &'static str {
        Panel::ALL.iter().find(|(p, _)| *p == self).map_or("", |(_, id)| id)
    }

    /// The panel with identifier `id`; a tab's id (`methods`, …) names [`Panel::Tab`].
    pub fn from_id(id: &str) -> Option<Panel> {
        Panel::ALL
            .iter()
            .find(|(_, i)| *i == id)
            .map(|(p, _)| *p)
            .or_else(|| Tab::from_id(id).filter(|t| *t != Tab::Explore).map(|_| Panel::Tab))
    }
}

/// What `embed=1` shows when `panels=` does not say: the plot, the scrubber and the list.
pub const EMBED_PANELS: [Panel; 3] = [Panel::Plot, Panel::Scrubber, Panel::List];

/// The dataset marker of uploaded data.
pub const UPLOAD: &str = "upload";

impl Default for ViewState {
    fn default() -> Self {
        let spec = TrainSpec::default();
        Self {
            dataset: "moons".into(),
            params: GeneratorParams::default(),
            model: spec.model,
            network: spec.network,
            curvature: spec.curvature,
            lambda: spec.lambda,
            damping: spec.damping,
            standardize: spec.standardize,
            split_seed: spec.split_seed,
            selection: Selection::Auto,
            train_point: None,
            weight: 1.0,
            edits: Edits::default(),
            target: None,
            columns: UploadChoices::default(),
            embed: false,
            panels: None,
            host: None,
            tab: Tab::Explore,
            lang: None,
            lesson: None,
        }
    }
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (b'+', _) => {
                out.push(b' ');
                i += 1;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn list(v: &[usize]) -> String {
    v.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

fn parse_list(s: &str) -> Vec<usize> {
    s.split(',').filter_map(|p| p.parse().ok()).collect()
}

fn finite(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite())
}

impl ViewState {
    /// The query string (with the leading `?`). Floats use Rust's shortest
    /// round-trip form, so parsing gives back exactly the same numbers.
    pub fn to_query(&self) -> String {
        let mut q = vec![format!("ds={}", encode(&self.dataset))];
        let d = ViewState::default();
        if self.params != d.params {
            q.push(format!("n={}&noise={}&seed={}", self.params.n, self.params.noise, self.params.seed));
        }
        match &self.network {
            None => q.push(format!("model={}", self.model.map_or("auto", ModelKind::id))),
            Some(net) => {
                let widths: Vec<String> = net.widths().iter().map(|w| w.to_string()).collect();
                q.push(format!(
                    "model=mlp&hidden={}&act={}&iseed={}",
                    widths.join(","),
                    net.activation.id(),
                    net.init_seed
                ));
                if net.train_steps > 0 {
                    q.push(format!("steps={}", net.train_steps));
                }
                if let Some(m) = self.model {
                    q.push(format!("out={}", m.id()));
                }
            }
        }
        if self.curvature != Curvature::Hessian {
            q.push(format!("curv={}", self.curvature.id()));
        }
        q.push(format!("l2={}&damp={}&std={}", self.lambda, self.damping, u8::from(self.standardize)));
        if self.split_seed != 0 {
            q.push(format!("split={}", self.split_seed));
        }
        match &self.selection {
            Selection::Auto => {}
            Selection::Test(t) => q.push(format!("sel=t{t}")),
            Selection::Query { xy, label } => q.push(format!("sel=q{},{},{}", xy[0], xy[1], label)),
        }
        if let Some(tp) = self.train_point {
            q.push(format!("tp={tp}&w={}", self.weight));
        }
        if !self.edits.removed.is_empty() {
            q.push(format!("rm={}", list(&self.edits.removed)));
        }
        if !self.edits.flipped.is_empty() {
            q.push(format!("flip={}", list(&self.edits.flipped)));
        }
        if !self.edits.relabeled.is_empty() {
            let r: Vec<String> = self.edits.relabeled.iter().map(|(i, c)| format!("{i}:{c}")).collect();
            q.push(format!("relabel={}", r.join(",")));
        }
        if !self.edits.added.is_empty() {
            let a: Vec<String> =
                self.edits.added.iter().map(|p| format!("{},{},{}", p.xy[0], p.xy[1], p.label)).collect();
            q.push(format!("add={}", a.join(";")));
        }
        if let Some(t) = &self.target {
            q.push(format!("target={}", encode(t)));
        }
        if self.dataset == UPLOAD {
            let c = &self.columns;
            if !c.exclude.is_empty() {
                let names: Vec<String> = c.exclude.iter().map(|n| encode(n)).collect();
                q.push(format!("xcol={}", names.join(",")));
            }
            if let Some(id) = &c.id_column {
                q.push(format!("idcol={}", encode(id)));
            }
            if c.drop_missing {
                q.push("dropna=1".into());
            }
        }
        if self.embed {
            q.push("embed=1".into());
        }
        if let Some(panels) = &self.panels {
            let ids: Vec<&str> = panels.iter().map(|p| p.id()).collect();
            q.push(format!("panels={}", ids.join(",")));
        }
        if let Some(host) = &self.host {
            q.push(format!("host={}", encode(host)));
        }
        if self.tab != Tab::Explore {
            q.push(format!("view={}", self.tab.id()));
        }
        if let Some(lang) = self.lang {
            q.push(format!("lang={}", lang.id()));
        }
        if let Some(at) = self.lesson {
            q.push(format!("lesson={}&step={}", at.number, at.step + 1));
        }
        format!("?{}", q.join("&"))
    }

    /// Parse a query string (with or without the leading `?`); bad values fall back to
    /// their defaults.
    pub fn from_query(query: &str) -> ViewState {
        let mut s = ViewState::default();
        let network_asked = query.trim_start_matches('?').split('&').any(|p| p == "model=mlp");
        let mut lesson_step = 0;
        for pair in query.trim_start_matches('?').split('&') {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let v = decode(v);
            match k {
                "ds" if !v.is_empty() => s.dataset = v,
                "n" => s.params.n = v.parse().unwrap_or(s.params.n),
                "noise" => s.params.noise = finite(&v).unwrap_or(s.params.noise),
                "seed" => s.params.seed = v.parse::<u64>().map_or(s.params.seed, |x| x.min(MAX_SEED)),
                "model" if v == "mlp" => s.network = Some(s.network.unwrap_or(default_network())),
                "model" => s.model = ModelKind::from_id(&v),
                "out" => s.model = ModelKind::from_id(&v),
                "hidden" => {
                    let w: Vec<usize> = v
                        .split(',')
                        .filter_map(|p| p.parse().ok())
                        .filter(|w| (2..=64).contains(w))
                        .collect();
                    if (1..=2).contains(&w.len()) {
                        let net = s.network.get_or_insert(default_network());
                        net.hidden = [w[0], w.get(1).copied().unwrap_or(0)];
                        net.layers = w.len();
                    }
                }
                "act" => {
                    if let Some(a) = Activation::from_id(&v) {
                        s.network.get_or_insert(default_network()).activation = a;
                    }
                }
                "iseed" => {
                    if let Ok(seed) = v.parse::<u64>() {
                        s.network.get_or_insert(default_network()).init_seed = seed.min(MAX_SEED);
                    }
                }
                "steps" => {
                    if let Ok(steps) = v.parse::<usize>() {
                        s.network.get_or_insert(default_network()).train_steps = steps.min(MAX_TRAIN_STEPS);
                    }
                }
                "curv" => s.curvature = Curvature::from_id(&v).unwrap_or_default(),
                "l2" => s.lambda = finite(&v).filter(|l| *l >= 0.0).unwrap_or(s.lambda),
                "damp" => s.damping = finite(&v).filter(|l| *l >= 0.0).unwrap_or(s.damping),
                "std" => s.standardize = v != "0",
                "split" => s.split_seed = v.parse::<u64>().map_or(0, |x| x.min(MAX_SEED)),
                "sel" => s.selection = parse_selection(&v).unwrap_or(Selection::Auto),
                "tp" => s.train_point = v.parse().ok(),
                "w" => s.weight = finite(&v).filter(|w| (0.0..=3.0).contains(w)).unwrap_or(1.0),
                "rm" => s.edits.removed = parse_list(&v),
                "flip" => s.edits.flipped = parse_list(&v),
                "relabel" => {
                    s.edits.relabeled = v
                        .split(',')
                        .filter_map(|p| {
                            let (i, c) = p.split_once(':')?;
                            Some((i.parse().ok()?, c.parse().ok()?))
                        })
                        .collect()
                }
                "add" => {
                    s.edits.added = v
                        .split(';')
                        .filter_map(|p| {
                            let f: Vec<f64> = p.split(',').filter_map(finite).collect();
                            (f.len() == 3).then(|| AddedPoint { xy: [f[0], f[1]], label: f[2] })
                        })
                        .collect()
                }
                "target" if !v.is_empty() => s.target = Some(v),
                "embed" => s.embed = v == "1",
                "panels" => {
                    let mut panels: Vec<Panel> = Vec::new();
                    for p in v.split(',').filter_map(Panel::from_id) {
                        if !panels.contains(&p) {
                            panels.push(p);
                        }
                    }
                    s.panels = Some(panels);
                }
                // Names are split before decoding: an encoded comma stays in its name.
                "xcol" => {
                    let raw = pair.split_once('=').map_or("", |(_, r)| r);
                    s.columns.exclude = raw.split(',').map(decode).filter(|n| !n.is_empty()).collect();
                }
                "idcol" if !v.is_empty() => s.columns.id_column = Some(v),
                "dropna" => s.columns.drop_missing = v == "1",
                "host" if crate::embed_api::is_origin(&v) => s.host = Some(v),
                "view" => s.tab = Tab::from_id(&v).unwrap_or_default(),
                "lang" => s.lang = Lang::from_id(&v),
                "lesson" => {
                    s.lesson = v
                        .parse()
                        .ok()
                        .filter(|n| *n >= 1)
                        .map(|number| LessonAt { number, step: lesson_step })
                }
                "step" => {
                    lesson_step = v.parse::<usize>().ok().and_then(|k| k.checked_sub(1)).unwrap_or(0);
                    if let Some(at) = &mut s.lesson {
                        at.step = lesson_step;
                    }
                }
                _ => {}
            }
        }
        // A weight belongs to a scrubbed point: without one it means nothing (and a
        // link would drop it), so the state is made canonical; so are network keys
        // without a network (`model=mlp` decides).
        if s.train_point.is_none() {
            s.weight = 1.0;
        }
        if !network_asked {
            s.network = None;
        }
        if s.dataset != UPLOAD {
            s.columns = UploadChoices::default();
        }
        s
    }

    /// The default view, framed as this one (embedding, panels, host and language kept).
    pub fn fresh(&self) -> ViewState {
        ViewState {
            embed: self.embed,
            panels: self.panels.clone(),
            host: self.host.clone(),
            lang: self.lang,
            ..ViewState::default()
        }
    }

    /// Whether `panel` shows: as `panels=` lists, else everything but what `embed=1`
    /// hides.
    pub fn shows(&self, panel: Panel) -> bool {
        match &self.panels {
            Some(list) => list.contains(&panel),
            None => !self.embed || EMBED_PANELS.contains(&panel),
        }
    }

    /// What the worker must train for this state.
    pub fn train_spec(&self) -> TrainSpec {
        let source = if self.dataset == UPLOAD {
            DataSource::Uploaded(UploadOptions {
                target: self.target.clone().unwrap_or_default(),
                exclude: self.columns.exclude.clone(),
                id_column: self.columns.id_column.clone(),
                drop_missing: self.columns.drop_missing,
            })
        } else {
            DataSource::Builtin { id: self.dataset.clone(), params: self.params }
        };
        TrainSpec {
            source,
            model: self.model,
            network: self.network,
            curvature: self.curvature,
            lambda: self.lambda,
            damping: self.damping,
            standardize: self.standardize,
            split_seed: self.split_seed,
            selection: self.selection.clone(),
            edits: self.edits.clone(),
            ..TrainSpec::default()
        }
    }
}

/// The network `model=mlp` starts from: one hidden layer of 16 tanh units, seed 0,
/// trained to convergence.
pub fn default_network() -> MlpShape {
    MlpShape::one(16, Activation::Tanh, 0)
}

pub use crate::engine::methods::params::MAX_SEED;

/// The column and row choices for an uploaded file (see [`UploadOptions`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UploadChoices {
    /// Columns left out.
    pub exclude: Vec<String>,
    /// The column naming the rows.
    pub id_column: Option<String>,
    /// Drop rows with missing cells.
    pub drop_missing: bool,
}

/// Largest early-stop budget a link may ask for.
pub const MAX_TRAIN_STEPS: usize = 100_000;

fn parse_selection(v: &str) -> Option<Selection> {
    if let Some(t) = v.strip_prefix('t') {
        return t.parse().ok().map(Selection::Test);
    }
    let f: Vec<f64> = v.strip_prefix('q')?.split(',').filter_map(finite).collect();
    (f.len() == 3).then(|| Selection::Query { xy: [f[0], f[1]], label: f[2] })
}

/// The `<iframe>` of `state` with `embed=1` at `base` (the page's address without
/// query or fragment), carrying `text` in its fragment when there is an uploaded file.
pub fn embed_snippet(
    base: &str,
    state: &ViewState,
    text: Option<&str>,
) -> Result<String, crate::link_data::LinkDataError> {
    let embedded = ViewState {
        embed: true,
        panels: state.panels.clone().or_else(|| state.embed.then(|| EMBED_PANELS.to_vec())),
        ..state.clone()
    };
    let fragment = match text {
        Some(t) => format!("#{}{}", crate::link_data::KEY, crate::link_data::encode(t)?),
        None => String::new(),
    };
    let src = format!("{base}{}{fragment}", embedded.to_query()).replace('&', "&amp;");
    Ok(format!(
        "<iframe src=\"{src}\" title=\"Attribution Explorer\" width=\"100%\" height=\"600\" \
         style=\"border:0\" loading=\"lazy\"></iframe>"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lesson_step_reads_in_either_order_and_counts_from_one() {
        let at = |q: &str| ViewState::from_query(q).lesson;
        assert_eq!(at("lesson=2&step=3"), Some(LessonAt { number: 2, step: 2 }));
        assert_eq!(at("step=3&lesson=2"), Some(LessonAt { number: 2, step: 2 }));
        assert_eq!(at("lesson=2"), Some(LessonAt { number: 2, step: 0 }));
        assert_eq!(at("lesson=2&step=0"), Some(LessonAt { number: 2, step: 0 }));
        assert_eq!(at("lesson=0"), None);
        assert_eq!(at("step=2"), None);
        assert_eq!(ViewState::from_query("lang=fr").lang, None);
    }

    #[test]
    fn default_round_trips() {
        let s = ViewState::default();
        assert_eq!(ViewState::from_query(&s.to_query()), s);
    }

    #[test]
    fn full_state_round_trips_exactly() {
        let s = ViewState {
            dataset: "circles".into(),
            params: GeneratorParams { n: 321, noise: 0.123456789012345, seed: 99 },
            model: Some(ModelKind::Logistic),
            network: None,
            curvature: Curvature::Ggn,
            lambda: 0.1 + 0.2, // 0.30000000000000004: needs every digit
            damping: 1e-7,
            standardize: false,
            split_seed: 5,
            selection: Selection::Query { xy: [-0.5, 1.0 / 3.0], label: 1.0 },
            train_point: Some(17),
            weight: 0.25,
            edits: Edits {
                removed: vec![3, 9],
                flipped: vec![4],
                added: vec![AddedPoint { xy: [0.1, -2.5], label: 0.0 }],
                relabeled: vec![(7, 1), (2, 0)],
            },
            target: Some("my target; ü & co".into()),
            columns: UploadChoices::default(),
            embed: true,
            panels: Some(vec![Panel::Plot, Panel::Tab]),
            host: Some("https://docs.example.com:8443".into()),
            tab: Tab::Diagnostics,
            lang: Some(Lang::Ja),
            lesson: Some(LessonAt { number: 3, step: 2 }),
        };
        let q = s.to_query();
        assert!(q.contains("lang=ja&lesson=3&step=3"), "{q}");
        assert_eq!(ViewState::from_query(&q), s, "{q}");
        let t = ViewState { selection: Selection::Test(4), ..s };
        assert_eq!(ViewState::from_query(&t.to_query()), t);
    }

    #[test]
    fn a_network_round_trips() {
        let net = MlpShape {
            hidden: [12, 5],
            layers: 2,
            activation: Activation::Gelu,
            init_seed: 7,
            train_steps: 300,
        };
        let s = ViewState {
            network: Some(net),
            model: Some(ModelKind::Softmax),
            curvature: Curvature::Ekfac,
            ..ViewState::default()
        };
        let q = s.to_query();
        assert!(q.contains("model=mlp&hidden=12,5&act=gelu&iseed=7") && q.contains("steps=300"), "{q}");
        assert_eq!(ViewState::from_query(&q), s);
        // Network keys without `model=mlp` mean nothing.
        assert_eq!(ViewState::from_query("?hidden=8&act=gelu").network, None);
        assert_eq!(ViewState::from_query("?model=mlp").network, Some(default_network()));
    }

    #[test]
    fn upload_choices_round_trip_for_uploaded_data_only() {
        let s = ViewState {
            dataset: UPLOAD.into(),
            target: Some("label".into()),
            columns: UploadChoices {
                exclude: vec!["a,b".into(), "größe".into()],
                id_column: Some("patient id".into()),
                drop_missing: true,
            },
            ..ViewState::default()
        };
        let q = s.to_query();
        assert_eq!(ViewState::from_query(&q), s, "{q}");
        // They mean nothing for built-in data (and so are not kept).
        assert_eq!(ViewState::from_query("?ds=moons&xcol=a&dropna=1").columns, UploadChoices::default());
    }

    #[test]
    fn panels_choose_what_shows() {
        let all = ViewState::default();
        assert!(Panel::ALL.iter().all(|(p, _)| all.shows(*p)));
        let embed = ViewState::from_query("?embed=1");
        assert!(embed.shows(Panel::Plot) && embed.shows(Panel::List) && !embed.shows(Panel::Header));
        // A tab's name means that tab's content; unknown names and repeats are dropped.
        let s = ViewState::from_query("?embed=1&panels=plot,methods,nonsense,plot&view=methods");
        assert_eq!(s.panels, Some(vec![Panel::Plot, Panel::Tab]));
        assert!(s.shows(Panel::Tab) && !s.shows(Panel::List) && !s.shows(Panel::Scrubber));
        assert_eq!(ViewState::from_query(&s.to_query()), s);
    }

    #[test]
    fn a_snippet_embeds_this_view_and_its_data() {
        let state = ViewState { dataset: UPLOAD.into(), target: Some("b".into()), ..ViewState::default() };
        let s = embed_snippet("https://h/x/", &state, Some("a,b\n1,2\n3,4\n")).expect("fits");
        assert!(s.starts_with("<iframe src=\"https://h/x/?ds=upload&amp;"), "{s}");
        let src = &s["<iframe src=\"https://h/x/".len()..s.find("\" title").expect("src ends")]
            .replace("&amp;", "&");
        let (query, fragment) = src.split_once('#').expect("data in the fragment");
        let opened = ViewState::from_query(query);
        assert!(opened.embed && opened.target.as_deref() == Some("b"), "{query}");
        assert_eq!(crate::link_data::from_fragment(fragment), Some(Ok("a,b\n1,2\n3,4\n".into())));
        // Built-in data: no fragment.
        assert!(!embed_snippet("https://h/", &ViewState::default(), None).expect("no data").contains('#'));
    }

    #[test]
    fn malformed_values_fall_back_to_defaults() {
        let s = ViewState::from_query("?ds=&n=abc&l2=-1&w=9&sel=zzz&model=tree&noise=NaN&rm=1,x,2");
        let d = ViewState::default();
        assert_eq!((s.dataset, s.params.n, s.lambda, s.weight), (d.dataset, d.params.n, d.lambda, 1.0));
        assert_eq!((s.selection, s.model, s.params.noise), (Selection::Auto, None, d.params.noise));
        assert_eq!(s.edits.removed, vec![1, 2]);
        assert_eq!(ViewState::from_query("?relabel=3:1,x:2,4:,5:0").edits.relabeled, vec![(3, 1), (5, 0)]);
    }
}
