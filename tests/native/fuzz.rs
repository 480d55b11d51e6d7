//! Hostile input: the CSV reader, the URL-state parser and the worker's message
//! decoder on arbitrary bytes and on mutations of valid input, plus the worker's
//! service on decoded but hostile requests. None may panic (a panic in WebAssembly
//! kills the page).
//!
//! The test suite runs a few thousand cases of each. The long run is
//! `make fuzz` (`FUZZ_CASES=10000000 cargo test --release --test native fuzz`),
//! ten million cases per target (twenty thousand request sequences for the service,
//! each of which trains a model); its last result is in the README.

use attribution_explorer::engine::data::csv::{datasets_from_tables, parse_bytes, ColumnSpec, TargetKind};
use attribution_explorer::protocol::{Part, PartValues, Request, Selection, Share, TrainSpec};
use attribution_explorer::service::{native_clock, Service};
use attribution_explorer::url_state::ViewState;
use attribution_explorer::{embed_api, link_data};
use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence};

/// Cases per target: `FUZZ_CASES` (at most `cap`), or `quick`.
fn config(quick: u32, cap: u32) -> Config {
    let cases =
        std::env::var("FUZZ_CASES").ok().and_then(|c| c.parse::<u32>().ok()).map_or(quick, |c| c.min(cap));
    Config { cases, failure_persistence: Some(Box::new(FileFailurePersistence::Off)), ..Config::default() }
}

/// Bytes that look like CSV often enough to reach the cell and target parsing.
fn csv_like() -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        Just(b",".to_vec()),
        Just(b";".to_vec()),
        Just(b"\t".to_vec()),
        Just(b"\n".to_vec()),
        Just(b"\r\n".to_vec()),
        Just(b"\"".to_vec()),
        Just(b"\"\"".to_vec()),
        Just("\u{feff}".as_bytes().to_vec()),
        Just(b"NaN".to_vec()),
        Just(b"-1e308".to_vec()),
        Just(b"1e999".to_vec()),
        Just(b"<img src=x onerror=alert(1)>".to_vec()),
        "[a-z0-9.\\- ]{1,6}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 1..4),
    ];
    prop::collection::vec(token, 0..60).prop_map(|t| t.concat())
}

/// Read the bytes as a file and, when they parse, build a dataset from every column
/// as the target in turn.
fn read_all_ways(bytes: &[u8]) {
    if let Ok(table) = parse_bytes(bytes) {
        for target in table.headers.iter().take(4) {
            for kind in [TargetKind::Auto, TargetKind::Classes, TargetKind::Real] {
                let spec = ColumnSpec { target: target.clone(), exclude: vec![], kind };
                let _ = datasets_from_tables(&[&table, &table], &spec);
            }
        }
    }
}

/// Valid messages of every kind the page sends, as JSON: the seeds of the mutations.
fn sample_requests() -> Vec<String> {
    let requests = [
        Request::Train { job: 1, spec: TrainSpec::default() },
        Request::Select { job: 2, selection: Selection::Query { xy: [0.5, -1.0], label: 1.0 } },
        Request::Reweight { job: 3, index: 4, weight: 0.5, curve: true },
        Request::LeaveEachOut { job: 4, share: Share::WHOLE },
        Request::Cancel { job: 4 },
        Request::Upload { job: 5, name: "a.csv".into(), text: "a,b,y\n1,2,0\n3,4,1\n".into() },
        Request::Mislabel { job: 6, fraction: 0.1, seed: 3 },
        Request::Methods { job: 7, methods: vec![], settings: Default::default() },
    ];
    requests.iter().filter_map(|r| serde_json::to_string(r).ok()).collect()
}

/// A byte mutation: replace, insert or delete at a position.
fn mutate(mut bytes: Vec<u8>, edits: &[(usize, u8, u8)]) -> Vec<u8> {
    for &(pos, op, b) in edits {
        let i = if bytes.is_empty() { 0 } else { pos % (bytes.len() + 1) };
        match op % 3 {
            0 if i < bytes.len() => bytes[i] = b,
            1 => bytes.insert(i, b),
            _ if i < bytes.len() => {
                bytes.remove(i);
            }
            _ => {}
        }
    }
    bytes
}

proptest! {
    #![proptest_config(config(3000, u32::MAX))]

    #[test]
    fn fuzz_csv_reader_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        read_all_ways(&bytes);
    }

    #[test]
    fn fuzz_csv_reader_csv_like(bytes in csv_like()) {
        read_all_ways(&bytes);
    }

    #[test]
    fn fuzz_url_state(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let query = String::from_utf8_lossy(&bytes);
        let state = ViewState::from_query(&query);
        // Whatever came in, the state it became survives its own link exactly.
        prop_assert_eq!(ViewState::from_query(&state.to_query()), state.clone());
        let _ = state.train_spec();
    }

    #[test]
    fn fuzz_url_state_like(parts in prop::collection::vec(("(ds|n|noise|seed|model|l2|damp|std|split|sel|tp|w|rm|flip|add|target|embed|view|panels|host|xcol|idcol|dropna)", "[a-z0-9.,;:/%+q\\-]{0,12}"), 0..12)) {
        let query: String = parts.iter().map(|(k, v)| format!("{k}={v}&")).collect();
        let state = ViewState::from_query(&query);
        prop_assert_eq!(ViewState::from_query(&state.to_query()), state);
    }

    #[test]
    fn fuzz_link_data(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        // Any fragment reads as data or as a sentence; what reads goes back in a link.
        let fragment = String::from_utf8_lossy(&bytes);
        if let Some(Ok(text)) = link_data::from_fragment(&format!("#data={fragment}")) {
            let payload = link_data::encode(&text);
            prop_assert_eq!(payload.map(|p| link_data::decode(&p)), Ok(Ok(text)));
        }
    }

    #[test]
    fn fuzz_host_messages(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = embed_api::parse_json(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fuzz_message_decoder_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = serde_json::from_str::<Request>(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn fuzz_message_decoder_mutations(which in 0usize..8, edits in prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..6)) {
        let seeds = sample_requests();
        let bytes = mutate(seeds[which % seeds.len()].clone().into_bytes(), &edits);
        let _ = serde_json::from_str::<Request>(&String::from_utf8_lossy(&bytes));
    }
}

/// Requests that decode but carry hostile values: out-of-range indices, NaN and
/// infinite weights, huge generators, empty method lists, shares of a job that do not
/// add up and blocks of other jobs. The service answers each with a result or a
/// sentence, and never panics.
fn hostile_request() -> impl Strategy<Value = Request> {
    let number =
        prop_oneof![Just(f64::NAN), Just(f64::INFINITY), Just(-1.0), Just(1e300), Just(0.0), -5.0..5.0f64];
    let index = prop_oneof![Just(usize::MAX), Just(0usize), 0usize..400];
    let count = prop_oneof![Just(usize::MAX), Just(0usize), 0usize..5];
    let share = (count.clone(), count).prop_map(|(part, parts)| Share { part, parts });
    let part = (share.clone(), any::<u64>(), prop::collection::vec(number.clone(), 0..200), index.clone())
        .prop_map(|(share, model, actual, i)| Part {
            share,
            model,
            millis: 1.0,
            refits: Default::default(),
            values: PartValues::Loo { actual: actual.into(), not_converged: vec![i] },
        });
    prop_oneof![
        share.clone().prop_map(|share| Request::LeaveEachOut { job: 9, share }),
        (share.clone(), 0usize..30).prop_map(|(share, seeds)| Request::Truths { job: 9, seeds, share }),
        prop::collection::vec(part, 0..4).prop_map(|parts| Request::Finish { job: 9, parts }),
        (index.clone(), number.clone(), any::<bool>()).prop_map(|(index, weight, curve)| Request::Reweight {
            job: 9,
            index,
            weight,
            curve
        }),
        (number.clone(), number.clone(), number.clone()).prop_map(|(x, y, label)| Request::Select {
            job: 9,
            selection: Selection::Query { xy: [x, y], label }
        }),
        index.clone().prop_map(|t| Request::Select { job: 9, selection: Selection::Test(t) }),
        (number.clone(), number.clone(), 0usize..50_000_000).prop_map(|(lambda, damping, n)| {
            let mut spec = TrainSpec { lambda, damping, ..TrainSpec::default() };
            if let attribution_explorer::protocol::DataSource::Builtin { params, .. } = &mut spec.source {
                params.n = n;
            }
            Request::Train { job: 9, spec }
        }),
        (number.clone(), any::<u64>()).prop_map(|(fraction, seed)| Request::Mislabel {
            job: 9,
            fraction,
            seed
        }),
        (0usize..20_000, number, any::<u64>(), share).prop_map(|(subsets, alpha, seed, share)| {
            Request::Lds {
                job: 9,
                subsets,
                alpha,
                seed,
                methods: vec![],
                settings: Default::default(),
                share,
            }
        }),
    ]
}

proptest! {
    #![proptest_config(config(60, 20_000))]

    #[test]
    fn fuzz_service_with_hostile_requests(requests in prop::collection::vec(hostile_request(), 1..4)) {
        let mut s = Service::new(native_clock);
        s.handle(Request::Train { job: 1, spec: TrainSpec::default() }, &mut |_| {});
        for r in requests {
            s.handle(r, &mut |_| {});
            // A long job may start: run a few blocks, then stop it.
            for _ in 0..3 {
                if s.busy() { s.step(&mut |_| {}); }
            }
            s.handle(Request::Cancel { job: 9 }, &mut |_| {});
        }
    }
}
