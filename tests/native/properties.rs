//! Property tests on random small datasets: no panic, fitted gradient below the
//! tolerance, influence finite.

use attribution_explorer::engine::data::{Dataset, Target};
use attribution_explorer::engine::fit::{fit, FitOptions};
use attribution_explorer::engine::influence::Influence;
use attribution_explorer::engine::model::problem::Problem;
use attribution_explorer::engine::model::{Model, ModelKind};
use ndarray::Array2;
use proptest::prelude::*;

fn dataset(rows: Vec<(f64, f64, u8)>, classes: usize, real: bool) -> Dataset {
    let n = rows.len();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| if j == 0 { rows[i].0 } else { rows[i].1 });
    let mut y: Vec<f64> = rows.iter().map(|r| (r.2 as usize % classes) as f64).collect();
    // Make sure every class occurs.
    for (c, v) in y.iter_mut().enumerate().take(classes) {
        *v = c as f64;
    }
    let target = if real {
        y = rows.iter().map(|r| r.0 * 2.0 - r.1 + r.2 as f64 / 50.0).collect();
        Target::Real
    } else {
        Target::Classes { names: (0..classes).map(|c| c.to_string()).collect() }
    };
    Dataset { feature_names: vec!["a".into(), "b".into()], target_name: "y".into(), x, y, target }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    #[test]
    fn random_problems_fit_and_give_finite_influence(
        rows in prop::collection::vec((-3.0f64..3.0, -3.0f64..3.0, 0u8..255), 6..40),
        which in 0usize..3,
        lambda in 0.001f64..1.0,
    ) {
        let (kind, classes, real) = [(ModelKind::Logistic, 2, false), (ModelKind::Softmax, 3, false), (ModelKind::Linear, 0, true)][which];
        let data = dataset(rows, classes.max(2), real);
        let model = Model::new(kind, 2, data.n_classes()).expect("valid model");
        let problem = Problem::new(model, &data, lambda).expect("valid problem");
        let report = fit(&problem, None, &FitOptions::default()).expect("fit runs");
        prop_assert!(report.converged, "{:?}", report);
        prop_assert!(report.grad_norm < 1e-10);
        let influence = Influence::new(&problem, &report.theta, 0.0).expect("λ > 0: H is positive definite");
        let scores = influence.score(&problem, &problem.train).expect("scores");
        prop_assert!(scores.iter().all(|t| t.pred_loo_dloss.iter().chain(&t.pred_loo_dpred).all(|v| v.is_finite())));
        prop_assert!(influence.self_influence().expect("solves").iter().all(|v| v.is_finite()));
    }

    #[test]
    fn csv_reader_never_panics(text in ".{0,300}") {
        let _ = attribution_explorer::engine::data::csv::parse(&text);
    }

    /// A file without a quote character is split where it stands, without the `csv`
    /// crate's tokenizer; it must read exactly as that tokenizer reads it, which it does
    /// when the same file has its first header quoted: the same fields, lines (blank
    /// lines, `\r`, `\r\n`, whitespace-only lines, a missing last line end) and errors.
    #[test]
    fn a_file_without_quotes_reads_as_the_tokenizer_reads_it(body in "[a1.,\r\n -]{0,200}") {
        use attribution_explorer::engine::data::csv::parse;
        let (plain, quoted) = (parse(&format!("x,y,z\n{body}")), parse(&format!("\"x\",y,z\n{body}")));
        prop_assert_eq!(plain, quoted);
    }
}

proptest! {
    /// The quick conversion of plain decimals gives the standard parser's f64, bit for
    /// bit (the parser is correctly rounded), and takes every plain decimal of up to
    /// 15 digits.
    #[test]
    fn quick_decimals_equal_the_parser(cell in "[-+]?[0-9]{0,9}(\\.[0-9]{0,9})?") {
        use attribution_explorer::engine::data::csv::quick_decimal;
        let digits = cell.bytes().filter(u8::is_ascii_digit).count();
        match (quick_decimal(&cell), cell.parse::<f64>()) {
            (Some(q), Ok(p)) => prop_assert_eq!(q.to_bits(), p.to_bits(), "{}", cell),
            (Some(q), Err(_)) => prop_assert!(false, "{} is no number, yet gave {}", cell, q),
            (None, Ok(_)) => prop_assert!(digits > 15, "{} is plain", cell),
            (None, Err(_)) => {}
        }
    }

    #[test]
    fn anything_else_is_left_to_the_parser(cell in "[-+. 0-9eExa]{0,18}") {
        use attribution_explorer::engine::data::csv::quick_decimal;
        if let Some(q) = quick_decimal(&cell) {
            prop_assert_eq!(Ok(q.to_bits()), cell.parse::<f64>().map(f64::to_bits), "{}", cell);
        }
    }
}

#[test]
fn quick_decimals_at_the_edges() {
    use attribution_explorer::engine::data::csv::quick_decimal;
    // 15 digits at most (below 2^53); 0.1 + rounding cases as the parser gives them.
    for cell in
        ["999999999999999", "0.00000000000001", "-0", "-0.0", "0.1", "0.3", "123456.789012345", "+.5", "7."]
    {
        let q = quick_decimal(cell).expect("plain");
        assert_eq!(q.to_bits(), cell.parse::<f64>().expect("number").to_bits(), "{cell}");
    }
    for cell in
        ["9999999999999999", "", ".", "-", "+.", "1e5", " 1", "1 ", "0x10", "1.2.3", "--1", "NaN", "inf"]
    {
        assert_eq!(quick_decimal(cell), None, "{cell:?}");
    }
}

proptest! {
    /// Splitting in place gives the rows two copies would: for any rows kept and taken
    /// (ascending, as the split makes them, or in any order), and for a matrix stored
    /// row after row or not; so does moving a dataset's rows into a problem's design.
    #[test]
    fn a_split_in_place_keeps_the_rows_a_copy_would(
        n in 1usize..12,
        d in 1usize..4,
        picks in proptest::collection::vec((0usize..12, any::<bool>()), 0..14),
        shuffle in any::<bool>(),
        transposed in any::<bool>(),
    ) {
        let value = |i: usize, j: usize| (i * 10 + j) as f64;
        let x = if transposed {
            // Stored column after column.
            Array2::from_shape_fn((d, n), |(j, i)| value(i, j)).reversed_axes()
        } else {
            Array2::from_shape_fn((n, d), |(i, j)| value(i, j))
        };
        prop_assert_eq!(x.is_standard_layout(), !transposed || n == 1 || d == 1);
        let data = Dataset {
            feature_names: (0..d).map(|j| format!("f{j}")).collect(),
            target_name: "y".into(),
            x,
            y: (0..n).map(|i| i as f64 / 2.0).collect(),
            target: Target::Real,
        };
        let mut keep: Vec<usize> = picks.iter().filter(|p| p.1 && p.0 < n).map(|p| p.0).collect();
        keep.sort_unstable();
        keep.dedup();
        if shuffle {
            keep.reverse();
        }
        let take: Vec<usize> = (0..n).filter(|i| !keep.contains(i)).collect();
        let (kept, taken) = data.clone().into_parts(&keep, &take);
        prop_assert_eq!(&kept, &data.select(&keep));
        prop_assert_eq!(taken, data.select(&take));
        // A dataset given up to a problem gives it the rows a copy would.
        use attribution_explorer::engine::model::problem::Design;
        prop_assert_eq!(Design::from_owned(data.clone()), Design::from_dataset(&data));
        prop_assert_eq!(Design::from_owned(kept.clone()), Design::from_dataset(&kept));
    }
}
