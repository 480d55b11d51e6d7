//! The default view computed natively, kept as a fixture that the browser test
//! (`tests/browser.rs`) compares against: same seed, same numbers on both targets.

use attribution_explorer::protocol::TrainSpec;
use attribution_explorer::service::train;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/default_view.json");

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
