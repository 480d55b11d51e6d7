//! The engine's speed in the browser (`make bench-web`; prints, asserts nothing about
//! time): the same jobs as criterion's (`benches/shared`), built as the worker is
//! (optimised, wasm SIMD) and run on the page's thread in headless Chromium, so that
//! each browser ÷ native ratio compares one code on one core.
//!
//! The browser's clock has 0.1 ms resolution, so each sample times a batch of runs and
//! divides; the figure printed is the median of the samples, after a warm-up run.
#![cfg(target_arch = "wasm32")]

#[path = "../benches/shared/mod.rs"]
mod shared;

use attribution_explorer::engine::fit::{fit, FitOptions};
use attribution_explorer::engine::influence::Influence;
use std::hint::black_box;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Median over `samples` of the mean time of `batch` runs of `job`, in milliseconds.
fn median_ms(samples: usize, batch: usize, mut job: impl FnMut() -> usize) -> f64 {
    black_box(job());
    let mut times: Vec<f64> = (0..samples)
        .map(|_| {
            let t = now();
            (0..batch).for_each(|_| {
                black_box(job());
            });
            (now() - t) / batch as f64
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

#[wasm_bindgen_test]
fn breast_cancer_in_the_browser() {
    let (problem, test) = shared::breast_cancer();
    let fit_and_influence = median_ms(15, 20, || shared::fit_and_influence(&problem, &test));
    let report = fit(&problem, None, &FitOptions::default()).expect("fit");
    let influence = Influence::new(&problem, &report.theta, 0.0).expect("factor");
    let loo = median_ms(7, 3, || shared::leave_each_out(&problem, &report.theta, &influence));
    console_log!(
        "breast cancer in the browser, one thread: fit + exact influence of all 455 × 114 pairs \
         {fit_and_influence:.3} ms; full leave-one-out (455 refits) {loo:.2} ms"
    );
}
