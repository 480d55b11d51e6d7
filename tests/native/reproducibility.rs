//! The default view computed natively, kept as a fixture that the browser test
//! (`tests/browser.rs`) compares against: same seed, same numbers on both targets.

use attribution_explorer::protocol::{Request, Response, TrainSpec};
use attribution_explorer::service::{train, Service};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/default_view.json");
const METHODS_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/default_methods.json");

/// The seeded methods' scores for the default view (what the browser test compares).
pub fn default_methods() -> serde_json::Value {
    let mut s = Service::new(attribution_explorer::service::native_clock);
    let mut out = Vec::new();
    s.handle(Request::Train { job: 1, spec: TrainSpec::default() }, &mut |r| out.push(r));
    s.handle(Request::Methods { job: 2, methods: page_methods(), settings: Default::default() }, &mut |r| {
        out.push(r)
    });
    let Some(Response::MethodsDone { result: Ok(m), .. }) = out.pop() else { panic!("methods view") };
    let rows: serde_json::Map<String, serde_json::Value> =
        m.rows.iter().map(|r| (r.method.id().to_string(), serde_json::json!(r.scores))).collect();
    serde_json::Value::Object(rows)
}

#[test]
fn seeded_methods_match_the_committed_fixture() {
    let here = default_methods();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(METHODS_FIXTURE, serde_json::to_string(&here).expect("json")).expect("write fixture");
    }
    let text =
        std::fs::read_to_string(METHODS_FIXTURE).expect("fixture exists (UPDATE_FIXTURES=1 writes it)");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(here, fixture);
}

#[test]
fn default_view_matches_the_committed_fixture() {
    let view = train(&TrainSpec::default()).expect("default view trains");
    let here = serde_json::to_value(&view).expect("serialises");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(FIXTURE, serde_json::to_string(&here).expect("json")).expect("write fixture");
    }
    let text = std::fs::read_to_string(FIXTURE).expect("fixture exists (UPDATE_FIXTURES=1 writes it)");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(here["train_xy"], fixture["train_xy"]);
    assert_eq!(here["explained"], fixture["explained"]);
}

fn page_methods() -> Vec<attribution_explorer::engine::methods::Method> {
    attribution_explorer::engine::methods::Method::DEFAULT.to_vec()
}

const NETWORK_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/network_view.json");

/// The default network view (`?model=mlp`): moons, 16 tanh units, seed 0.
pub fn network_spec() -> TrainSpec {
    TrainSpec { network: Some(attribution_explorer::url_state::default_network()), ..TrainSpec::default() }
}

#[test]
fn network_view_matches_the_committed_fixture() {
    let view = train(&network_spec()).expect("the network trains");
    let here = serde_json::to_value(&view).expect("serialises");
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(NETWORK_FIXTURE, serde_json::to_string(&here).expect("json")).expect("write fixture");
    }
    let text =
        std::fs::read_to_string(NETWORK_FIXTURE).expect("fixture exists (UPDATE_FIXTURES=1 writes it)");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(here["explained"], fixture["explained"]);
    assert_eq!(here["fit"]["iterations"], fixture["fit"]["iterations"]);
}

const POOL_FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/default_pool_jobs.json");

/// One job run whole on one service: its final response.
fn whole(request: Request) -> Response {
    let mut s = Service::new(attribution_explorer::service::native_clock);
    let mut out = Vec::new();
    s.handle(Request::Train { job: 1, spec: TrainSpec::default() }, &mut |r| out.push(r));
    s.handle(request, &mut |r| out.push(r));
    while s.busy() {
        s.step(&mut |r| out.push(r));
    }
    out.pop().expect("a result")
}

/// The TMC-Shapley settings of the pool fixture: 3 permutations, no truncation (so
/// that no rounding of a utility can decide where a permutation stops), seed 4.
pub fn pool_tmc_settings() -> attribution_explorer::engine::methods::MethodParams {
    attribution_explorer::engine::methods::MethodParams {
        shapley_permutations: 3,
        shapley_truncation: 0.0,
        shapley_seed: 4,
        ..Default::default()
    }
}

/// The default view's leave-one-out, LDS (10 subsets, α = 0.5, seed 3, gradient dot
/// product) and TMC-Shapley ([`pool_tmc_settings`]) of the explained point, run whole
/// natively: what the browser test's pool of services must give.
pub fn default_pool_jobs() -> serde_json::Value {
    use attribution_explorer::protocol::Share;
    let Response::LeaveEachOutDone { result: Ok(loo), .. } =
        whole(Request::LeaveEachOut { job: 2, share: Share::WHOLE })
    else {
        panic!("leave-one-out")
    };
    let lds = Request::Lds {
        job: 3,
        subsets: 10,
        alpha: 0.5,
        seed: 3,
        methods: vec![attribution_explorer::engine::methods::Method::GradDot],
        settings: Default::default(),
        share: Share::WHOLE,
    };
    let Response::LdsDone { result: Ok(lds), .. } = whole(lds) else { panic!("LDS") };
    let methods = Request::Methods {
        job: 4,
        methods: vec![attribution_explorer::engine::methods::Method::TmcShapley],
        settings: pool_tmc_settings(),
    };
    let Response::MethodsDone { result: Ok(m), .. } = whole(methods) else { panic!("Methods") };
    let tmc = m.rows.iter().find(|r| r.method.id() == "tmc_shapley").expect("a TMC-Shapley row");
    serde_json::json!({
        "loo_predicted": loo.predicted.to_vec(),
        "loo_actual": loo.actual.to_vec(),
        "lds": lds.values.iter().map(|(_, v)| *v).collect::<Vec<_>>(),
        "tmc": tmc.scores.to_vec(),
    })
}

#[test]
fn pool_jobs_match_the_committed_fixture() {
    let here = default_pool_jobs();
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::write(POOL_FIXTURE, serde_json::to_string(&here).expect("json")).expect("write fixture");
    }
    let text = std::fs::read_to_string(POOL_FIXTURE).expect("fixture exists (UPDATE_FIXTURES=1 writes it)");
    let fixture: serde_json::Value = serde_json::from_str(&text).expect("fixture is JSON");
    assert_eq!(here, fixture);
}
