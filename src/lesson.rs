//! Guided lessons: five short walks through the explorer, each a data file
//! (`www/lessons/N.json`, compiled in, so opening a lesson makes no request) that a
//! teacher can read and change without touching code.
//!
//! A lesson is a title and a list of steps. A step has a starting view (`start`, a URL
//! query as the address bar shows it), the control to highlight (`highlight`, the
//! `data-testid` of an element), what to do (`do`), an optional one-sentence
//! explanation of the number it shows (`explain`), and `done`: checks on the page's
//! state that must all hold for the step to turn green. Texts come in English and
//! Japanese (`{"en": …, "ja": …}`). The format is documented in the README.
//!
//! The checks read only the [`ViewState`] (what a link reproduces) and [`Seen`] (which
//! analyses are on screen), so whether a step is done is a pure function, tested here
//! natively; the page re-evaluates it whenever either changes. A check that compares
//! with the step's start ("a different test point", "the weight moved") compares with
//! `start`, so no step is done before the user acts (tested for every step).

use crate::engine::methods::params::MethodParams;
use crate::lang::{Lang, Words};
use crate::url_state::{LessonAt, Tab, ViewState};
use serde::Deserialize;

/// The lesson files, in order (`?lesson=1` is the first).
const FILES: [&str; 5] = [
    include_str!("../www/lessons/1.json"),
    include_str!("../www/lessons/2.json"),
    include_str!("../www/lessons/3.json"),
    include_str!("../www/lessons/4.json"),
    include_str!("../www/lessons/5.json"),
];

/// How many lessons there are.
pub const COUNT: usize = FILES.len();

/// A lesson: a title and its steps.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lesson {
    /// Its title.
    pub title: Words,
    /// Its steps, in order.
    pub steps: Vec<Step>,
}

/// One step of a lesson.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// The view the step starts from, as a URL query (`ds=moons&tp=3`).
    pub start: String,
    /// The `data-testid` of the control to use, highlighted while the step is current.
    #[serde(default)]
    pub highlight: Option<String>,
    /// What to do.
    #[serde(rename = "do")]
    pub task: Words,
    /// What the number the step shows means, in one sentence.
    #[serde(default)]
    pub explain: Option<Words>,
    /// Checks that all hold once the step is done.
    pub done: Vec<Check>,
}

/// An analysis whose results can be on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Analysis {
    /// The leave-one-out check.
    Loo,
    /// The Methods comparison.
    Methods,
    /// The Diagnostics (spectrum, solvers).
    Diagnostics,
    /// The Mislabel lab.
    Mislabel,
    /// The linear datamodeling score.
    Lds,
    /// The three ground truths.
    Truths,
    /// The review queue of the Audit tab.
    Audit,
    /// "What would change this prediction?"
    Flip,
    /// "Remove a group".
    Group,
}

/// A condition on the page's state (in a lesson file: `{"weight_at_most": 0}`,
/// `{"tab": "methods"}`, `{"shown": "loo"}`, or a bare name such as `"explained"`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Check {
    /// A training point is on the scrubber: this one, or any (`null`).
    Picked(Option<usize>),
    /// The scrubbed point's weight is at most this.
    WeightAtMost(f64),
    /// The scrubbed point's weight is at least this.
    WeightAtLeast(f64),
    /// A point is on the scrubber with another weight than at the start.
    WeightMoved,
    /// Another point is explained than at the start.
    Explained,
    /// This tab is shown.
    Tab(Tab),
    /// These results are on screen.
    Shown(Analysis),
    /// λ is at least this.
    LambdaAtLeast(f64),
    /// λ is at most this.
    LambdaAtMost(f64),
    /// The Methods results on screen were computed with LiSSA's scale at most this
    /// multiple of λmax.
    LissaScaleAtMost(f64),
    /// The Methods results on screen were computed with Arnoldi keeping at most this
    /// many directions.
    ArnoldiKAtMost(usize),
    /// The training set is edited differently from the start (a point removed,
    /// relabelled or added).
    Edited,
}

/// What the page shows beyond its URL state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Seen {
    /// The analyses whose results are on screen, for the current view.
    pub shown: Vec<Analysis>,
    /// The settings of the Methods results on screen.
    pub methods: Option<MethodParams>,
}

impl Check {
    /// Whether the check holds in `now`, for a step that started at `start`.
    pub fn holds(&self, now: &ViewState, start: &ViewState, seen: &Seen) -> bool {
        let picked = now.train_point.is_some();
        match self {
            Check::Picked(None) => picked,
            Check::Picked(Some(i)) => now.train_point == Some(*i),
            Check::WeightAtMost(w) => picked && now.weight <= *w,
            Check::WeightAtLeast(w) => picked && now.weight >= *w,
            Check::WeightMoved => picked && now.weight != start.weight,
            Check::Explained => now.selection != start.selection,
            Check::Tab(t) => now.tab == *t,
            Check::Shown(a) => seen.shown.contains(a),
            Check::LambdaAtLeast(l) => now.lambda >= *l,
            Check::LambdaAtMost(l) => now.lambda <= *l,
            Check::LissaScaleAtMost(s) => {
                seen.methods.as_ref().is_some_and(|p| p.lissa_scale_factor.unwrap_or(2.0) <= *s)
                    && seen.shown.contains(&Analysis::Methods)
            }
            Check::ArnoldiKAtMost(k) => {
                seen.methods.as_ref().is_some_and(|p| p.arnoldi_k <= *k)
                    && seen.shown.contains(&Analysis::Methods)
            }
            Check::Edited => now.edits != start.edits,
        }
    }
}

impl Step {
    /// The step's starting view, framed as `frame` (its embedding, panels, host and
    /// language kept) and marked as step `at`.
    pub fn start_state(&self, frame: &ViewState, at: LessonAt) -> ViewState {
        ViewState {
            embed: frame.embed,
            panels: frame.panels.clone(),
            host: frame.host.clone(),
            lang: frame.lang,
            lesson: Some(at),
            ..ViewState::from_query(&self.start)
        }
    }

    /// Whether every check holds in `now`.
    pub fn is_done(&self, now: &ViewState, seen: &Seen) -> bool {
        let start = ViewState::from_query(&self.start);
        !self.done.is_empty() && self.done.iter().all(|c| c.holds(now, &start, seen))
    }

    /// The highlighted control's `data-testid`, if it is a plain identifier (lowercase
    /// letters, digits and dashes), so that it can go into a CSS selector as it is.
    pub fn highlight_id(&self) -> Option<&str> {
        self.highlight.as_deref().filter(|h| {
            !h.is_empty() && h.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
    }
}

impl Lesson {
    /// Lesson `number` (1 to [`COUNT`]).
    pub fn get(number: usize) -> Result<Lesson, String> {
        let text =
            number.checked_sub(1).and_then(|i| FILES.get(i)).ok_or(format!("there is no lesson {number}"))?;
        serde_json::from_str(text).map_err(|e| format!("lesson {number} does not read: {e}"))
    }

    /// Its text in `lang`.
    pub fn title(&self, lang: Lang) -> &str {
        self.title.get(lang)
    }
}

/// The view a page opened with `state` shows: a link that names a lesson step and
/// nothing else of the view (`?lesson=2&step=3`) opens that step's start; a link with a
/// view of its own (a reload, a shared address mid-step) keeps that view.
pub fn opening_state(state: ViewState) -> ViewState {
    let Some(at) = state.lesson else { return state };
    let bare = ViewState { lesson: None, lang: None, ..state.clone() } == ViewState::default();
    match Lesson::get(at.number).ok().and_then(|l| l.steps.get(at.step).cloned()) {
        Some(step) if bare => step.start_state(&state, at),
        Some(_) => state,
        // A lesson or step that does not exist: the view without it.
        None => ViewState { lesson: None, ..state },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Selection;

    fn lessons() -> Vec<Lesson> {
        (1..=COUNT).map(|n| Lesson::get(n).unwrap_or_else(|e| panic!("{e}"))).collect()
    }

    #[test]
    fn every_lesson_reads_and_has_steps_in_both_languages() {
        for (n, lesson) in lessons().iter().enumerate() {
            assert!(lesson.steps.len() >= 3, "lesson {} has {} steps", n + 1, lesson.steps.len());
            assert!(!lesson.title.en.is_empty() && !lesson.title.ja.is_empty());
            for step in &lesson.steps {
                assert!(!step.task.en.is_empty() && !step.task.ja.is_empty(), "{step:?}");
                assert_ne!(step.task.en, step.task.ja, "an untranslated step: {step:?}");
                if let Some(e) = &step.explain {
                    assert!(!e.en.is_empty() && !e.ja.is_empty() && e.en != e.ja, "{step:?}");
                }
            }
        }
    }

    /// The checker's whole point: a step turns green by what the user does, never by
    /// itself.
    #[test]
    fn no_step_is_done_at_its_start() {
        for (n, lesson) in lessons().iter().enumerate() {
            for (k, step) in lesson.steps.iter().enumerate() {
                let at = LessonAt { number: n + 1, step: k };
                let start = step.start_state(&ViewState::default(), at);
                assert!(
                    !step.is_done(&start, &Seen::default()),
                    "lesson {} step {} is done at its start",
                    n + 1,
                    k + 1
                );
                assert!(!step.done.is_empty(), "lesson {} step {} has no check", n + 1, k + 1);
            }
        }
    }

    /// Every key of a step's start is one the URL knows (a typo would silently open
    /// another view), and every highlight is a plain identifier.
    #[test]
    fn starts_use_known_keys_and_highlights_are_identifiers() {
        for lesson in lessons() {
            for step in &lesson.steps {
                let canonical = ViewState::from_query(&step.start).to_query();
                for pair in step.start.trim_start_matches('?').split('&') {
                    let key = pair.split_once('=').map_or(pair, |(k, _)| k);
                    assert!(canonical.contains(&format!("{key}=")), "unknown key '{key}' in {}", step.start);
                }
                assert_eq!(step.highlight_id(), step.highlight.as_deref(), "highlight {:?}", step.highlight);
            }
        }
    }

    #[test]
    fn checks_compare_with_the_start() {
        let start = ViewState::from_query("ds=moons&tp=3");
        let seen = Seen::default();
        let mut now = start.clone();
        assert!(Check::Picked(Some(3)).holds(&now, &start, &seen));
        assert!(!Check::Picked(Some(4)).holds(&now, &start, &seen));
        assert!(!Check::WeightMoved.holds(&now, &start, &seen));
        assert!(!Check::WeightAtMost(0.0).holds(&now, &start, &seen));
        now.weight = 0.0;
        assert!(Check::WeightMoved.holds(&now, &start, &seen));
        assert!(Check::WeightAtMost(0.0).holds(&now, &start, &seen));
        assert!(!Check::WeightAtLeast(2.0).holds(&now, &start, &seen));
        assert!(!Check::Explained.holds(&now, &start, &seen));
        now.selection = Selection::Test(5);
        assert!(Check::Explained.holds(&now, &start, &seen));
        assert!(!Check::Edited.holds(&now, &start, &seen));
        now.edits.removed.push(2);
        assert!(Check::Edited.holds(&now, &start, &seen));
        now.train_point = None;
        assert!(
            !Check::WeightAtMost(0.0).holds(&now, &start, &seen),
            "a weight without a point means nothing"
        );
    }

    #[test]
    fn method_settings_count_only_with_their_results() {
        let (now, start) = (ViewState::default(), ViewState::default());
        let low = MethodParams { lissa_scale_factor: Some(0.3), arnoldi_k: 1, ..MethodParams::default() };
        let check = Check::LissaScaleAtMost(0.4);
        assert!(!check.holds(&now, &start, &Seen { shown: vec![], methods: Some(low.clone()) }));
        assert!(check.holds(
            &now,
            &start,
            &Seen { shown: vec![Analysis::Methods], methods: Some(low.clone()) }
        ));
        assert!(Check::ArnoldiKAtMost(1).holds(
            &now,
            &start,
            &Seen { shown: vec![Analysis::Methods], methods: Some(low) }
        ));
        let default = Seen { shown: vec![Analysis::Methods], methods: Some(MethodParams::default()) };
        assert!(!check.holds(&now, &start, &default));
    }

    #[test]
    fn a_bare_lesson_link_opens_the_steps_start_and_a_full_one_keeps_its_view() {
        let opened = opening_state(ViewState::from_query("lesson=1&step=2&lang=ja"));
        let step = &Lesson::get(1).unwrap().steps[1];
        assert_eq!(opened.lesson, Some(LessonAt { number: 1, step: 1 }));
        assert_eq!(opened.lang, Some(Lang::Ja));
        assert_eq!(
            ViewState { lesson: None, lang: None, ..opened.clone() },
            ViewState::from_query(&step.start)
        );
        // A reload mid-step keeps what the user did.
        let mid = ViewState { weight: 0.5, train_point: Some(0), ..opened.clone() };
        assert_eq!(opening_state(mid.clone()), mid);
        // No such lesson or step: the view without it.
        assert_eq!(opening_state(ViewState::from_query("lesson=9")).lesson, None);
        assert_eq!(opening_state(ViewState::from_query("lesson=1&step=99")).lesson, None);
    }

    #[test]
    fn highlights_that_are_not_identifiers_are_dropped() {
        let mut step = Lesson::get(1).unwrap().steps[0].clone();
        step.highlight = Some("x\"] body {".into());
        assert_eq!(step.highlight_id(), None);
    }
}
