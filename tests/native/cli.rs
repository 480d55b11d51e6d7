//! The `attrib` binary: help, JSON keys and full-precision floats, `--loo`, and bad
//! input ending in exit status 2 with one `error:` line naming file and line.

use attribution_explorer::engine::data::builtin::{Builtin, GeneratorParams};
use attribution_explorer::engine::data::prep::split;
use attribution_explorer::engine::data::Dataset;
use std::path::PathBuf;
use std::process::{Command, Output};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("attrib-test-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

fn write_csv(path: &PathBuf, d: &Dataset) {
    let mut s = d.feature_names.join(",") + ",label\n";
    for (row, y) in d.x.rows().into_iter().zip(&d.y) {
        let cells: Vec<String> = row.iter().map(|v| format!("{v:?}")).collect();
        s += &format!("{},{}\n", cells.join(","), d.label_text(*y));
    }
    std::fs::write(path, s).expect("write csv");
}

/// `command --train T --test S --target label` followed by `extra`.
fn cmd<'a>(command: &'a str, train: &'a str, test: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![command, "--train", train, "--test", test, "--target", "label"];
    v.extend_from_slice(extra);
    v
}

fn attrib(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_attrib")).args(args).output().expect("runs")
}

fn moons_files(dir: &str) -> (String, String) {
    let dir = temp_dir(dir);
    let data = Builtin::Moons.load(&GeneratorParams { n: 60, noise: 0.25, seed: 5 }).expect("loads");
    let (train, test) = split(&data, 0.2, 1);
    let (a, b) = (dir.join("train.csv"), dir.join("test.csv"));
    write_csv(&a, &train);
    write_csv(&b, &test);
    (a.display().to_string(), b.display().to_string())
}

#[test]
fn help_documents_every_command_and_flag() {
    let out = attrib(&["--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for command in
        ["influence", "approx", "lds", "mislabel", "audit", "flip", "group", "completions", "pred_loo_dloss"]
    {
        assert!(text.contains(command), "help lacks {command}");
    }
    let out = attrib(&["influence", "--help"]);
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--train",
        "--test",
        "--target",
        "--model",
        "--l2",
        "--damping",
        "--standardize",
        "--loo",
        "--reweight-eps",
        "--out",
        "--exclude",
    ] {
        assert!(text.contains(flag), "influence help lacks {flag}");
    }
    let out = attrib(&["approx", "--help"]);
    let text = String::from_utf8_lossy(&out.stdout);
    for flag in
        ["--methods", "--cg-tol", "--lissa-depth", "--tracin-lr", "--trak-models", "--shapley-truncation"]
    {
        assert!(text.contains(flag), "approx help lacks {flag}");
    }
    let out = attrib(&["completions", "bash"]);
    assert!(out.status.success() && String::from_utf8_lossy(&out.stdout).contains("attrib"));
}

#[test]
fn influence_json_has_every_key_and_round_trips() {
    let (train, test) = moons_files("json");
    let out = attrib(&cmd(
        "influence",
        &train,
        &test,
        &["--model", "logistic", "--l2", "0.05", "--standardize", "--loo"],
    ));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    for key in [
        "n_train",
        "n_test",
        "n_params",
        "theta",
        "grad_norm",
        "converged",
        "self_influence",
        "train_loss",
        "timings_ms",
        "test",
    ] {
        assert!(v.get(key).is_some(), "missing key {key}");
    }
    let n = v["n_train"].as_u64().expect("n_train") as usize;
    assert_eq!((n, v["n_test"].as_u64(), v["n_params"].as_u64()), (48, Some(12), Some(3)));
    assert_eq!(v["converged"], true);
    assert!(v["grad_norm"].as_f64().expect("number") < 1e-10);
    for k in ["fit", "influence", "loo"] {
        assert!(v["timings_ms"][k].as_f64().is_some(), "timings_ms.{k}");
    }
    let t0 = &v["test"][0];
    for key in
        ["index", "loss", "pred", "pred_loo_dloss", "pred_loo_dpred", "actual_loo_dloss", "actual_loo_dpred"]
    {
        assert!(t0.get(key).is_some(), "test[0] lacks {key}");
    }
    assert_eq!(t0["pred_loo_dloss"].as_array().map(Vec::len), Some(n));
    assert_eq!(t0["actual_loo_dloss"].as_array().map(Vec::len), Some(n));
    // Floats round-trip: the text of each number parses back to the same f64 and
    // prints the same again (shortest round-trip form).
    let text = String::from_utf8_lossy(&out.stdout);
    let again: serde_json::Value =
        serde_json::from_str(&serde_json::to_string(&v).expect("json")).expect("json");
    assert_eq!(v, again);
    assert!(text.contains(&format!("{:?}", v["theta"][0].as_f64().expect("number"))));
}

#[test]
fn reweight_and_out_file() {
    let (train, test) = moons_files("reweight");
    let out_path = temp_dir("reweight").join("out.json");
    let out_s = out_path.display().to_string();
    let out = attrib(&cmd("influence", &train, &test, &["--reweight-eps", "0.001", "--out", &out_s]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out_path).expect("written")).expect("JSON");
    let (p, a) = (&v["test"][0]["pred_reweight_dloss"], &v["test"][0]["actual_reweight_dloss"]);
    let (p, a) = (p.as_array().expect("array"), a.as_array().expect("array"));
    // A small upweighting (weight 1 + εn = 1.048): first order within a few percent.
    for (x, y) in p.iter().zip(a) {
        let (x, y) = (x.as_f64().expect("n"), y.as_f64().expect("n"));
        assert!((x - y).abs() <= 0.05 * y.abs() + 1e-9, "{x} vs {y}");
    }
}

fn expect_error(args: &[&str], needles: &[&str]) {
    let out = attrib(args);
    assert_eq!(out.status.code(), Some(2), "exit status for {args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: "), "{err}");
    for n in needles {
        assert!(err.contains(n), "{err} lacks {n}");
    }
    assert!(!err.contains("panicked") && !err.contains("backtrace"));
}

#[test]
fn bad_input_exits_2_with_one_line_naming_file_and_line() {
    let dir = temp_dir("bad");
    let (train, test) = moons_files("bad-ok");
    let ragged = dir.join("ragged.csv");
    std::fs::write(&ragged, "x1,x2,label\n1,2,class A\n3,class B\n").expect("write");
    let r = ragged.display().to_string();
    expect_error(&cmd("influence", &r, &test, &[]), &["ragged.csv", "line 3"]);
    let nonnum = dir.join("nonnum.csv");
    std::fs::write(&nonnum, "x1,x2,label\n1,2,class A\n3,oops,class B\n").expect("write");
    let s = nonnum.display().to_string();
    expect_error(&cmd("influence", &train, &s, &[]), &["nonnum.csv", "line 3", "oops"]);
    expect_error(
        &["influence", "--train", "/no/such.csv", "--test", &test, "--target", "label"],
        &["/no/such.csv"],
    );
    expect_error(
        &["influence", "--train", &train, "--test", &test, "--target", "nope"],
        &["nope", "not in the header"],
    );
    expect_error(&cmd("influence", &train, &test, &["--l2", "x"]), &["--l2"]);
    expect_error(&cmd("influence", &train, &test, &["--model", "linear"]), &["not a number"]);
    expect_error(&["frobnicate"], &["unrecognized subcommand"]);
    expect_error(&cmd("approx", &train, &test, &["--cg-tol", "0"]), &["--cg-tol", "cg_tol = 0"]);
    expect_error(&cmd("lds", &train, &test, &["--alpha", "1.5"]), &["--alpha", "1.5"]);
}

#[test]
fn a_training_file_with_one_class_is_refused_and_unused_test_columns_are_named() {
    let dir = temp_dir("one-class");
    let (train, test) = (dir.join("train.csv"), dir.join("test.csv"));
    std::fs::write(&train, "x1,x2,label\n1,2,a\n3,4,a\n5,1,a\n2,2,a\n").expect("write");
    std::fs::write(&test, "x1,x2,label\n1,2,a\n3,4,b\n").expect("write");
    let (tr, te) = (train.display().to_string(), test.display().to_string());
    // Before: the classes were the union of both files, so the training file's single
    // class fitted a bias of 23 and called it converged.
    expect_error(&cmd("influence", &tr, &te, &[]), &["train.csv", "class \"b\" has no training rows"]);
    let (train, test) = moons_files("extra-column");
    let text = std::fs::read_to_string(&test).expect("read");
    let mut lines = text.lines();
    let mut extra = format!("{},note\n", lines.next().expect("header"));
    lines.for_each(|l| extra += &format!("{l},7\n"));
    let extra_path = temp_dir("extra-column").join("test-extra.csv");
    std::fs::write(&extra_path, extra).expect("write");
    let v = json(&cmd("influence", &train, &extra_path.display().to_string(), &[]));
    let warnings = v["warnings"].as_array().expect("warnings");
    assert!(
        warnings.iter().any(|w| w.as_str().is_some_and(|w| w.contains("\"note\"") && w.contains("not used"))),
        "{warnings:?}"
    );
}

#[test]
fn every_command_that_retrains_reports_its_refits() {
    let (train, test) = moons_files("refits");
    let has_refits = |v: &serde_json::Value, n: u64| {
        let r = &v["refits"];
        assert_eq!((r["n"].as_u64(), r["converged"].as_u64()), (Some(n), Some(n)), "{r}");
        assert!(r["max_grad_norm"].as_f64().is_some_and(|g| g < 1e-8), "{r}");
    };
    has_refits(&json(&cmd("influence", &train, &test, &["--loo"])), 48);
    has_refits(&json(&cmd("influence", &train, &test, &["--loo", "--reweight-eps", "0.001"])), 96);
    has_refits(&json(&cmd("approx", &train, &test, &["--methods", "grad_dot", "--loo"])), 48);
    has_refits(&json(&cmd("lds", &train, &test, &["--methods", "grad_dot", "--subsets", "5"])), 5);
    has_refits(&json(&cmd("mislabel", &train, &test, &[])), 1);
    // Without refits there is nothing to report.
    assert!(json(&cmd("influence", &train, &test, &[])).get("refits").is_none());
}

fn json(args: &[&str]) -> serde_json::Value {
    let out = attrib(args);
    assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn approx_reports_every_method_with_its_agreement() {
    let (train, test) = moons_files("approx");
    let v = json(&cmd("approx", &train, &test, &["--standardize", "--loo"]));
    let methods = v["methods"].as_object().expect("methods");
    for m in
        ["cg", "lissa", "arnoldi", "tracin", "representer", "grad_dot", "grad_cos", "trak", "knn_shapley"]
    {
        let entry = &methods[m];
        assert!(entry.get("error").is_none(), "{m}: {entry}");
        assert_eq!(entry["scores"].as_array().map(Vec::len), Some(12), "{m}: one row per test point");
        assert!(entry["agreement_exact"]["pearson"]["mean"].is_number(), "{m}");
        assert!(entry["agreement_loo"]["spearman"]["mean"].is_number(), "{m}");
    }
    // CG solves the same system as the Cholesky factorisation.
    assert!(methods["cg"]["agreement_exact"]["pearson"]["min"].as_f64().expect("number") > 0.999999);
    assert!(v["exact_vs_loo"]["pearson"]["mean"].as_f64().expect("number") > 0.99);
    // A method that cannot run says why, and the others still report.
    let v = json(&cmd(
        "approx",
        &train,
        &test,
        &["--l2", "0.05", "--methods", "lissa,grad_dot", "--lissa-scale", "0.001"],
    ));
    assert!(v["methods"]["lissa"]["error"].as_str().expect("error").contains("diverged"));
    assert!(v["methods"]["grad_dot"]["scores"].is_array());
}

#[test]
fn lds_and_mislabel_commands() {
    let (train, test) = moons_files("lds");
    let v = json(&cmd("lds", &train, &test, &["--methods", "cg,grad_dot", "--subsets", "20"]));
    for m in ["exact", "cg", "grad_dot"] {
        let x = v["lds"][m].as_f64().expect("a number");
        assert!((-1.0..=1.0).contains(&x), "{m}: {x}");
    }
    assert_eq!(v["lds"]["exact"], v["lds"]["cg"], "same scores, same LDS");
    let v = json(&cmd("mislabel", &train, &test, &["--flip-fraction", "0.2"]));
    assert_eq!(v["best_auc"].as_f64(), Some(0.9));
    assert_eq!(v["flipped"].as_array().map(Vec::len), Some(10), "20% of 48, rounded");
    for r in ["self_influence", "train_loss", "grad_dot", "tracin", "random"] {
        let auc = v["rankings"][r]["auc"].as_f64().expect("auc");
        assert!((0.0..=0.9).contains(&auc), "{r}: {auc}");
    }
    expect_error(&cmd("approx", &train, &test, &["--methods", "magic"]), &["unknown method"]);
}

#[test]
fn tmc_shapley_reports_a_standard_error_per_point() {
    let (train, test) = moons_files("tmc");
    let v = json(&cmd("approx", &train, &test, &["--methods", "tmc_shapley", "--shapley-permutations", "5"]));
    let m = &v["methods"]["tmc_shapley"];
    let (scores, errors) =
        (m["scores"].as_array().expect("scores"), m["std_error"].as_array().expect("errors"));
    assert_eq!((scores.len(), errors.len()), (12, 12));
    assert!(errors
        .iter()
        .flat_map(|r| r.as_array().cloned().unwrap_or_default())
        .all(|e| e.as_f64().is_some_and(|x| x >= 0.0)));
}

#[test]
fn a_network_with_every_ground_truth() {
    let (train, test) = moons_files("mlp");
    let v = json(&cmd(
        "influence",
        &train,
        &test,
        &[
            "--model",
            "mlp",
            "--hidden",
            "6",
            "--activation",
            "gelu",
            "--init-seed",
            "2",
            "--loo",
            "--pbrf",
            "--damping",
            "0.001",
            "--scratch-seeds",
            "2",
        ],
    ));
    assert_eq!((v["param_layout"].as_str(), v["curvature"].as_str()), (Some("mlp"), Some("hessian")));
    assert_eq!(v["layers"], serde_json::json!([2, 6, 1]));
    assert_eq!(v["n_params"].as_u64(), Some(2 * 6 + 6 + 6 + 1));
    assert!(
        v["hessian_eig_min"].is_number()
            && v["hessian_eig_max"].is_number()
            && v["n_negative_eigs"].is_number()
    );
    let t0 = &v["test"][0];
    for key in ["actual_loo_dloss", "actual_pbrf_dloss", "scratch_dloss_mean", "scratch_dloss_se"] {
        assert_eq!(t0[key].as_array().map(Vec::len), Some(48), "{key}");
    }
    assert!(t0["scratch_noise"].as_f64().is_some_and(|x| x >= 0.0));
    // 48 leave-one-out refits, 48 PBRF solves and 2 × 49 fits from scratch.
    assert_eq!(v["refits"]["n"].as_u64(), Some(48 + 48 + 98));
    let v = json(&cmd(
        "approx",
        &train,
        &test,
        &[
            "--model",
            "mlp",
            "--hidden",
            "4,3",
            "--curvature",
            "ekfac",
            "--damping",
            "0.01",
            "--methods",
            "cg,tracin,representer",
        ],
    ));
    assert!(v["methods"]["cg"]["scores"].is_array(), "{}", v["methods"]["cg"]);
    expect_error(
        &cmd("influence", &train, &test, &["--model", "mlp", "--hidden", "100"]),
        &["--hidden", "2 to 64"],
    );
    expect_error(
        &cmd("influence", &train, &test, &["--model", "mlp", "--hidden", "4,4,4"]),
        &["one or two hidden layers"],
    );
    expect_error(&cmd("influence", &train, &test, &["--output", "softmax"]), &["--model mlp"]);
}

#[test]
fn audit_flip_and_group_commands() {
    let (train, test) = moons_files("audit");
    let v = json(&cmd("audit", &train, &test, &["--rank", "train_loss", "--top", "5"]));
    assert_eq!(v["rank"], "train_loss");
    let c = v["candidates"].as_array().expect("candidates");
    assert_eq!(c.len(), 5);
    for cand in c {
        for key in ["index", "score", "label", "probs", "neighbours", "effects"] {
            assert!(cand.get(key).is_some(), "candidate lacks {key}: {cand}");
        }
        assert_eq!(cand["probs"].as_array().map(Vec::len), Some(2));
    }
    let scores: Vec<f64> = c.iter().map(|x| x["score"].as_f64().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "review order: {scores:?}");

    // The test point nearest the boundary: every test index, the one with the
    // smallest margin.
    let margins: Vec<f64> = (0..12)
        .map(|t| {
            json(&cmd("flip", &train, &test, &["--test-index", &t.to_string(), "--max-removed", "1"]))
                ["margin"]
                .as_f64()
                .expect("margin")
        })
        .collect();
    let near = (0..12).min_by(|&a, &b| margins[a].total_cmp(&margins[b])).expect("rows");
    let v = json(&cmd("flip", &train, &test, &["--test-index", &near.to_string()]));
    for key in ["removed", "flipped", "steps", "confirmed", "predicted_k", "limit", "refits"] {
        assert!(v.get(key).is_some(), "flip lacks {key}: {v}");
    }
    let steps = v["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), v["removed"].as_array().expect("removed").len());
    assert!(steps.iter().all(|s| s["predicted_margin"].is_f64() && s["actual_margin"].is_f64()));
    if v["flipped"] == true {
        assert_eq!(v["confirmed"], true, "{v}");
    }

    let v = json(&cmd("group", &train, &test, &["--members", "3,1,4,1,5", "--test-index", "0"]));
    assert_eq!(v["members"], serde_json::json!([1, 3, 4, 5]));
    for key in ["first_order", "second_order", "actual"] {
        assert!(v[key]["total_dloss"].is_f64() && v[key]["test_dloss"].is_f64(), "{key}: {v}");
    }
    expect_error(&cmd("flip", &train, &test, &["--test-index", "99"]), &["--test-index 99", "12 rows"]);
    expect_error(&cmd("group", &train, &test, &["--members", "999"]), &["training point 999"]);
    expect_error(&cmd("audit", &train, &test, &["--rank", "magic"]), &["magic"]);
}

#[test]
fn repeat_reports_the_same_numbers_with_median_phase_times() {
    let (train, test) = moons_files("repeat");
    let once = json(&cmd("influence", &train, &test, &["--loo"]));
    let thrice = json(&cmd("influence", &train, &test, &["--loo", "--repeat", "3"]));
    assert_eq!(once["test"], thrice["test"], "every run computes the same numbers");
    assert_eq!(once["theta"], thrice["theta"]);
    for phase in ["fit", "influence", "loo"] {
        let t = thrice["timings_ms"][phase].as_f64().expect("a time");
        assert!(t.is_finite() && t > 0.0, "{phase}: {t}");
    }
    expect_error(&cmd("influence", &train, &test, &["--repeat", "0"]), &["--repeat"]);
}
