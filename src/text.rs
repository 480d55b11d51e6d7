//! Every string the page shows, in English and Japanese: one table per language,
//! `www/i18n/en.json` and `www/i18n/ja.json` (compiled in; a translator edits a JSON
//! file, not Rust), keyed by [`Text`]. A text with values names them in braces
//! (`"Weight {w}"`), so each language orders the sentence its own way; [`fill`] puts
//! the values in. Numbers are formatted before they go in, the same in both languages.
//!
//! The tests fail when a key of [`Text`] is missing from either table, when a table has
//! a key that [`Text`] does not know, when the two texts of a key name different
//! values, and when a Japanese text is still the English one.

use crate::lang::Lang;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

macro_rules! texts {
    ($($name:ident),* $(,)?) => {
        /// A text of the page (its key in the tables is the snake-case name).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        #[allow(missing_docs)]
        pub enum Text { $($name),* }

        impl Text {
            /// Every key.
            pub const ALL: &'static [Text] = &[$(Text::$name),*];
        }
    };
}

texts! {
    Title, Tagline, EngineStarting, EngineReady, EngineReadyWorkers, EngineTitle, UpdateReady, Views,
    TabExplore, TabAudit, TabMethods, TabDiagnostics, TabTruths, TabMislabel, TabLds,
    Lessons, LessonHeading, LessonAria, LessonBack, LessonNext, LessonReset, LessonClose, LessonDone,
    LanguageLabel,
    CopyLink, CopyEmbed, CopyEmbedData, EmbedTitle, SaveReport, SaveReportTitle, ReportFailed,
    LinkCopied, SnippetCopiedData, SnippetCopied, CopyRefused, NoSnippet,
    Cancel, CancelTitle,
    ScrubberAria, TrainingPointTitle, WeightRemoved, WeightAsTrained, WeightCounted, DeltaLoss,
    PredictedInfluence, ActualRetrained, ScrubberChartLabel, ScrubberHint, Close,
    WhyThisPrediction, ListAria, TestPointNamed, YourQueryPoint, TestPoint, ExplainedSentence,
    MostHelpful, MostHarmful, ListHint, RemovingRaises, RemovingLowers, ProbOf, Prediction,
    PercentagePoints,
    LooAria, LooHeading, LooButton, LooProgress, LooChartLabel, Undefined, LooOver, OnWorkers, LooHollow, LooPearson, LooSpearman, LooVerdict,
    VerdictUndefined, VerdictVeryWell, VerdictFollows, VerdictUnreliable,
    WhatIs,
    TermLambdaName, TermLambda, TermCurvatureName, TermCurvature, TermDampingName, TermDamping,
    TermNewtonName, TermNewton, TermInfluenceName, TermInfluence, TermLooName, TermLoo, TermLdsName, TermLds,
    DataAria, Data, Dataset, UploadedFile, PointsN, NoiseV, Seed, FileTooBig, FileUnreadable, UploadSummary, UploadFailedTrain, TargetColumn, FeaturesLegend, NameRowsBy, TheirLine, DropMissing, OwnCsv, DropHere, ModelHeading, ModelAuto, ModelLogistic, ModelSoftmax, ModelLinear, ModelMlp, LambdaLabel, CurvatureLabel, DampingLabel, HiddenLabel, HiddenError, Activation, InitSeed, TrainSteps, FitStatus, Converged, NotConverged, NewtonSteps, GradientSteps, Steps, NetworkShape, HessianSpectrum, Working, WaitingEngine, PointsSummary, StandardisedSuffix, Standardise, DsMoons, DsCircles, DsXor, DsBlobs, DsSpirals, DsWave1d, DsPlane2d, DsIris, DsWine, DsBreastCancer, DsDiabetes,
    TipPrediction, TipProbLabel, TipTrain, TipTest, RemovePoint, FlipPoint, ClickEmpty, PlacesQuery, AddsTraining, Labelled, RestorePoint, UndoEdits, CaptionPca, CaptionLine, CaptionPlane, PlotAria, PlotCanvasAria, LegendHelpful, LegendHarmful, LegendMarks, ClassesKey, ClassesKeyEnd, SavePng,
    ClassN, FlipPast, FlipFromTo, FlipChanges, OneTrainingPoint, NTrainingPoints, FlipConfirmed, FlipUnconfirmed, FlipSameNumber, FlipPredictedK, FlipNotPredicted, FlipFound, FlipNonePredicted, FlipNoneFound, FlipActual, FlipPredicted, FlipMarginZero, FlipX, FlipY, FlipOpenPoint, FlipRefits, FlipHeading, FlipHint, FlipThreshold, FlipButton, FlipChartLabel,
    GroupShare, GroupWrongDirection, GroupUnderestimates, GroupSentence, GroupActual, GroupFirst, GroupSecond, GroupX, GroupYTotal, GroupYPoint, GroupNotConverged, GroupSizes, GroupHeading, GroupHint, GroupLabel, GroupHelpful, GroupHarmful, GroupClass, GroupFeature, GroupLasso, LassoHint, HowMany, ClassLabel, FeatureLabel, IsLabel, Above, Below, ValueLabel, GroupButton, GroupTotalChart, GroupPointChart,
    LdsSummary, Method, LdsHeading, LdsHint, Subsets, FractionAlpha, LdsButton, LdsProgress,
    MethodCgName, MethodCg, MethodLissaName, MethodLissa, MethodArnoldiName, MethodArnoldi, MethodTracinName, MethodTracin, MethodRepresenterName, MethodRepresenter, MethodGradDotName, MethodGradDot, MethodGradCosName, MethodGradCos, MethodTrakName, MethodTrak, MethodKnnShapleyName, MethodKnnShapley, MethodTmcShapleyName, MethodTmcShapley, AttrExactName, AttrExact, AttrLooName, AttrLoo,
    MethodsHeading, MethodsHint, MethodsToRun, MethodsButton, LissaScale, LissaDepth, ArnoldiK, TracinEpochs, TrakK, TrakProjections, KnnK, TmcPermutations, ColMethod, ColRhoExact, ColTopExact, ColRhoLoo, ColTopLoo, ColHelpful, ColMs, ColNotes, MethodsScoresAria, AgreementHeading, AgreementAria, DownloadScoresCsv, DownloadAllJson,
    DiagHeading, DiagButton, SeriesHessian, SeriesHessianNegative, AxisIndexAscending, AxisLogEigenvalue, SeriesCgResidual, SeriesLissaChange, SeriesCgDamped, SeriesLissaDamped, AxisStep, RhoUndamped, RhoLoo, RhoPbrf, RhoScratch, AxisLogDamping, AxisSpearman, ConditionUndefined, LissaRanSteps, DiagSummary, RescueConverges, RescueStruggles, RescueSentence, DiagTruthsHint, ChartSpectrum, ChartTraces, ChartSweep,
    ChartFailed,
    TruthLooTitle, TruthPbrfTitle, TruthScratchTitle, ColTruth, ColPearson, TruthsFootnote, TruthsHeading, TruthsHint, SeedsFromScratch, TruthsButton, RefitsDone, ChartTruthLoo, ChartTruthPbrf, ChartTruthScratch, TruthWarmLoo, TruthFromScratch,
    TruthsReading, NoiseFloor, NoiseFloorOne, NoNoiseFloor,
    AxisWeight, AxisDloss, AxisPredictedDloss, AxisActualDloss,
    RankSelfInfluence, RankTrainLoss, RankGradNorm, RankTracinSelf, RankRandom, RankOracle, CurveWithAuc, AxisFractionChecked, AxisFractionFound, AxisLossAfterRetrain, AxisAccuracyAfterRetrain, FixFirstSummary, SomeRefitsUnconverged, FlippedList, SingularDamping, FlippedSummary, ColRanking, FoundFirst, MislabelHint, FlipPercent, MislabelButton, ChartMislabel, FixFirstHeading, FixFirstHint, ChartFixLoss, ChartFixAccuracy, RemoveCleanHint, ChartRemoveClean,
    ReviewSelfInfluence, ReviewTrainLoss, ReviewGradNorm, ReviewTracinSelf, ReviewTestHarm, VerdictNone, VerdictKept, VerdictRemoved, VerdictRelabelled, RemovalPredicted, RemovalSentence, RemovalNotConverged, TrainingPointN, PredictedValue, EffectHelps, EffectHurts, NeighbourAt, NeighboursShare, DetailRow, DetailLabel, DetailModelSays, DetailMovesMost, DetailRemoving, DetailNeighbours, AuditMetrics, AuditCandidate, AuditStale, AuditBefore, AuditAfter, AuditQueueAria, RelabelButton, KeepButton, RemoveButton, UndoButton, AuditHeading, AuditHint, RankBy, AuditButton, CleanedCsvTitle, CleanedCsv, AuditLogJson,
    MetricAccuracy,
    RowLine, RowId, MoreFeatures,
    OpeningNetwork, OpeningSlow, Seconds, Minutes,
    NoteLissaDepth, NoteLissaShort, NoteArnoldiAll, NoteArnoldiTop, NoteTracinNetwork, NoteTracinRun, NoteTracinRunAuto, NoteRepresenterLinear, NoteRepresenterMlp, NoteTrakUnprojected, NoteTrakProjected, NoteTmc, UtilitySquaredError, UtilityProbability, NoteKnn, CgConverged, RefitsAllConverged, RefitsSomeNot, WarnNotConverged, WarnDampedSteps, WarnSeparable, WarnDiverging, WarnEarlyStopped, WarnUnderfit, NoteTextColumn,
    NoteDroppedRows,
    Untranslated,
    ErrCsvEmpty, ErrCsvHeaderOnly, ErrCsvTooLarge, ErrCsvNotUtf8, ErrCsvEmptyHeader, ErrCsvDuplicateHeader, ErrCsvRaggedRow, ErrCsvUnclosedQuote, ErrCsvUnreadable, ErrCsvNonNumeric, ErrCsvMissingCell, ErrCsvNonFinite, ErrCsvTargetNotFound, ErrCsvExcludedNotFound, ErrCsvColumnMissing, ErrCsvNoFeatures, ErrCsvNoRows, ErrCsvSingleClass, ErrCsvTooManyRows, ErrCsvTooManyColumns, ErrModelNeedsTwoClasses, ErrModelNeedsClasses, ErrModelNeedsRealTarget, ErrModelTooManyParameters, ErrModelNoRows, ErrModelBadNetwork, ErrModelEmptyClass, ErrFitNonFinite, ErrFitNotPositiveDefinite, ErrFitBadStart, ErrLinalgNotPositiveDefinite, ErrLinalgIndefinite, ErrLinalgSingular, ErrLinalgNonFinite, ErrLinalgShape, ErrMethodLissaDiverged, ErrMethodCgNotConverged, ErrMethodCgIndefinite, ErrMethodArnoldi, ErrMethodNonFinite, ErrMethodCancelled,
    ErrBadSetting, ErrHessianAt, ErrInFile, ErrNoBuiltin, ErrNoUpload, ErrTooFewRows, ErrTooFewTraining, ErrTrainFirst, ErrCancelled,
    LinkUnreadable, LinkUploaded, MeanwhileDefault, PlotFailed,
    UnderThousandth,
    CurvHessian, CurvGgn,
    ErrTrainingPointMissing, ErrBadWeight, ErrBaseNotConverged, ErrInternalRetrain, ErrNeedsLabels, ErrNeedsThreshold, ErrBadThreshold, ErrCheckNeedsClasses, ErrEmptyGroup, ErrGroupEmptiesClass,
    ErrParam, ExpectWhole, ExpectPositive, ExpectLissaSteps, ExpectFraction, ErrSeeds, ErrLdsSettings, ErrRelabel, ErrAddedPoint, ErrTestPointMissing, ErrWeightRange, ErrFlipFraction, ErrNoTestPoint, ErrKnnNeedsClasses, ErrRepresenterNeedsLambda, ArnoldiNeedsPair, ArnoldiKrylov, ArnoldiEigenFailed, ArnoldiNotFinite, ArnoldiNoPairs, ErrNoBlocks, ErrBlocksIncomplete, ErrWorkersDiffer, ErrWrongBlock, ErrTruthsMissing,
    DownloadFailed, EngineStartFailed, EngineNoWorker, EngineNotRunning, EngineSendFailed, EngineStopped, HelperStopped,
    LinkTooLarge, LinkTextTooLarge, LinkNotBase64, LinkNotDeflate, LinkInflated, LinkNotText,
    ReportMade, ReportSettings, ReportNothingYet,
    ErrGroupIsEverything,
    ReadingFile, FittingModel, AnalysisProgress, ShapleyProgress,
}

const EN: &str = include_str!("../www/i18n/en.json");
#[cfg(feature = "japanese")]
const JA: &str = include_str!("../www/i18n/ja.json");
/// Without the `japanese` feature (the engine worker), Japanese reads the English texts.
#[cfg(not(feature = "japanese"))]
const JA: &str = "{}";

/// A language's texts, at the index of their [`Text`] (`key as usize`; empty where the
/// table lacks one).
type Table = Vec<String>;

/// `key`'s name in the tables: its variant's name in snake case, as serde spells it.
fn key_name(key: Text) -> String {
    let mut name = String::new();
    for (i, c) in format!("{key:?}").char_indices() {
        if i > 0 && c.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    name
}

/// A table from its JSON text; a key that [`Text`] does not know is an error. The keys
/// are found by name in one map: serde's derived reading of [`Text`] compares a name
/// with the ~500 keys one after another, which at the page's start took most of the
/// task that first shows a text.
fn parse(table: &str) -> Result<Table, String> {
    let index: HashMap<String, usize> = Text::ALL.iter().map(|&k| (key_name(k), k as usize)).collect();
    let read: HashMap<String, String> = serde_json::from_str(table).map_err(|e| e.to_string())?;
    let mut texts = vec![String::new(); Text::ALL.len()];
    for (name, value) in read {
        let slot = index.get(&name).and_then(|&i| texts.get_mut(i));
        *slot.ok_or_else(|| format!("unknown text key `{name}`"))? = value;
    }
    Ok(texts)
}

/// `lang`'s table, read the first time it is asked for (a page in English never reads
/// the Japanese one).
fn table(lang: Lang) -> &'static Table {
    static ENGLISH: OnceLock<Table> = OnceLock::new();
    static JAPANESE: OnceLock<Table> = OnceLock::new();
    match lang {
        Lang::En => ENGLISH.get_or_init(|| parse(EN).unwrap_or_default()),
        Lang::Ja => JAPANESE.get_or_init(|| parse(JA).unwrap_or_default()),
    }
}

/// `key` in `lang` (the English text if the table lacks it, which the tests forbid).
pub fn text(lang: Lang, key: Text) -> &'static str {
    let found = |table: &'static Table| table.get(key as usize).map(String::as_str).filter(|t| !t.is_empty());
    found(table(lang)).or_else(|| found(table(Lang::En))).unwrap_or("")
}

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_string(), |t, (name, value)| t.replace(&format!("{{{name}}}"), value))
}

/// [`fill`] on `key` in `lang`.
pub fn filled(lang: Lang, key: Text, values: &[(&str, &str)]) -> String {
    fill(text(lang, key), values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Texts that are the same in both languages on purpose: the names of methods,
    /// which papers in both languages write in Latin letters, and the frame of a
    /// sentence not yet translated.
    const SAME: &[Text] = &[
        Text::Untranslated,
        Text::MethodLissaName,
        Text::MethodTracinName,
        Text::MethodTrakName,
        Text::MethodKnnShapleyName,
        Text::TruthPbrfTitle,
    ];

    fn names(t: &str) -> BTreeSet<String> {
        t.split('{').skip(1).filter_map(|p| p.split_once('}').map(|(n, _)| n.to_string())).collect()
    }

    #[test]
    fn both_tables_read_and_know_only_our_keys() {
        for (lang, table) in [("en", EN), ("ja", JA)] {
            parse(table).unwrap_or_else(|e| panic!("www/i18n/{lang}.json: {e}"));
        }
    }

    #[test]
    fn a_key_is_named_as_serde_names_it_and_sits_at_its_index() {
        for (i, &key) in Text::ALL.iter().enumerate() {
            assert_eq!(
                serde_json::to_value(key).unwrap(),
                serde_json::Value::String(key_name(key)),
                "{key:?}"
            );
            assert_eq!(key as usize, i, "{key:?}");
        }
        assert_eq!(key_name(Text::TabExplore), "tab_explore");
    }

    #[test]
    fn an_unknown_key_does_not_read() {
        assert!(parse(r#"{"title": "A", "no_such_text": "B"}"#).unwrap_err().contains("no_such_text"));
        assert_eq!(parse(r#"{"title": "A"}"#).unwrap()[Text::Title as usize], "A");
    }

    #[test]
    fn no_key_is_missing_in_either_language() {
        let (en, ja) = (parse(EN).unwrap(), parse(JA).unwrap());
        let missing: Vec<String> = Text::ALL
            .iter()
            .flat_map(|k| {
                [("en", &en), ("ja", &ja)]
                    .into_iter()
                    .filter(|(_, t)| t.get(*k as usize).is_none_or(|s| s.trim().is_empty()))
                    .map(move |(lang, _)| format!("{k:?} in {lang}"))
            })
            .collect();
        assert!(missing.is_empty(), "missing texts: {}", missing.join(", "));
    }

    #[test]
    fn both_languages_name_the_same_values_and_japanese_is_translated() {
        for &key in Text::ALL {
            let (en, ja) = (text(Lang::En, key), text(Lang::Ja, key));
            assert_eq!(names(en), names(ja), "{key:?}: {en} / {ja}");
            assert!(en != ja || SAME.contains(&key), "{key:?} is not translated: {en}");
        }
    }

    #[test]
    fn fill_puts_values_where_named() {
        assert_eq!(fill("{a} then {b}, {a}", &[("a", "1"), ("b", "2")]), "1 then 2, 1");
        assert_eq!(names("Weight {w} ({state})"), BTreeSet::from(["w".to_string(), "state".to_string()]));
    }
}
