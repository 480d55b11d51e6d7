//! Browser tests of Rust code (wasm-bindgen-test in headless Chromium): the panic
//! banner, the plot drawing real pixels, and the engine giving the same numbers as
//! natively (the fixture is written and checked by the native test
//! `native::reproducibility`).
#![cfg(target_arch = "wasm32")]

use attribution_explorer::protocol::TrainSpec;
use attribution_explorer::service::train;
use attribution_explorer::web::{panic_banner, plot};
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn document() -> web_sys::Document {
    web_sys::window().and_then(|w| w.document()).expect("a browser document")
}

#[wasm_bindgen_test]
fn panic_banner_is_visible_and_says_what_happened() {
    panic_banner::show("index out of bounds");
    let banner = document().get_element_by_id("panic-banner").expect("banner inserted");
    assert_eq!(banner.get_attribute("role").as_deref(), Some("alert"));
    let text = banner.text_content().unwrap_or_default();
    assert!(text.contains("index out of bounds") && text.contains("Reload"), "{text}");
    // A second panic replaces the message instead of stacking banners.
    panic_banner::show("second");
    assert_eq!(document().query_selector_all("#panic-banner").map(|l| l.length()).ok(), Some(1));
}

#[wasm_bindgen_test]
fn default_view_draws_real_pixels() {
    let view = train(&TrainSpec::default()).expect("default view trains");
    let canvas: web_sys::HtmlCanvasElement =
        document().create_element("canvas").expect("canvas").dyn_into().expect("is a canvas");
    canvas.set_width(320);
    canvas.set_height(240);
    let overlay =
        plot::Overlay { picked: Some(0), hovered: Some(1), weight: 0.0, surface: None, marked: &[2, 3] };
    plot::draw_main(&canvas, &view, &overlay).expect("draws");
    let ctx: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").ok().flatten().expect("2d context").dyn_into().expect("2d");
    let pixels = ctx.get_image_data(0.0, 0.0, 320.0, 240.0).expect("pixels").data();
    let non_white = pixels.chunks(4).filter(|p| p[0] < 250 || p[1] < 250 || p[2] < 250).count();
    // Axes, labels and 200 markers: far more than a blank canvas's zero.
    assert!(non_white > 2_000, "only {non_white} drawn pixels");
    // The decision surface is painted behind the points: class A's bluish-green tint
    // (green above red and blue), a colour no marker, axis or label uses.
    let tinted = pixels.chunks(4).filter(|p| p[1] > p[0].saturating_add(10) && p[1] > p[2]).count();
    assert!(tinted > 5_000, "only {tinted} pixels of the surface's tint");
}

#[wasm_bindgen_test]
fn engine_numbers_match_the_native_fixture() {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/default_view.json")).expect("fixture is JSON");
    let view = train(&TrainSpec::default()).expect("default view trains");
    let here = serde_json::to_value(&view).expect("serialises");
    assert_eq!(here["train_xy"], fixture["train_xy"], "generated data differ from native");
    assert_eq!(here["explained"]["selection"], fixture["explained"]["selection"]);
    let scores = |v: &serde_json::Value| v["explained"]["pred_loo_dloss"].as_array().cloned().expect("array");
    let (a, b) = (scores(&here), scores(&fixture));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        let (x, y) = (x.as_f64().expect("number"), y.as_f64().expect("number"));
        // Same IEEE arithmetic; only libm (exp, ln) may differ in the last bit.
        assert!((x - y).abs() <= 1e-12 * y.abs().max(1e-6), "{x} vs {y}");
    }
}

#[wasm_bindgen_test]
fn seeded_methods_match_the_native_fixture() {
    use attribution_explorer::protocol::{Request, Response};
    use attribution_explorer::service::Service;
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/default_methods.json")).expect("fixture is JSON");
    let mut s = Service::new(js_sys::Date::now);
    let mut out = Vec::new();
    s.handle(Request::Train { job: 1, spec: TrainSpec::default() }, &mut |r| out.push(r));
    s.handle(Request::Methods { job: 2, methods: page_methods(), settings: Default::default() }, &mut |r| {
        out.push(r)
    });
    let Some(Response::MethodsDone { result: Ok(m), .. }) = out.pop() else { panic!("methods view") };
    for row in &m.rows {
        let name = row.method.id();
        let expected = fixture[name].as_array().expect("method in fixture");
        assert_eq!(expected.len(), row.scores.len(), "{name}");
        for (x, y) in row.scores.iter().zip(expected) {
            let y = y.as_f64().expect("number");
            // Seeded streams are bit-identical; only libm's exp/ln may differ in the
            // last bit, and LiSSA's 200-step recursion can carry that a little further.
            assert!((x - y).abs() <= 1e-9 * y.abs().max(1e-6), "{name}: {x} vs {y}");
        }
    }
}

fn page_methods() -> Vec<attribution_explorer::engine::methods::Method> {
    attribution_explorer::engine::methods::Method::DEFAULT.to_vec()
}

#[wasm_bindgen_test]
fn seeded_network_training_matches_the_native_fixture() {
    // The same seed gives the same θ̂ natively and in the browser: the explained
    // point's scores (which depend on every parameter) agree with the native fixture.
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/network_view.json")).expect("fixture is JSON");
    let spec = TrainSpec {
        network: Some(attribution_explorer::url_state::default_network()),
        ..TrainSpec::default()
    };
    let view = train(&spec).expect("the network trains");
    let here = serde_json::to_value(&view).expect("serialises");
    assert_eq!(here["fit"]["iterations"], fixture["fit"]["iterations"], "the same optimiser path");
    let scores = |v: &serde_json::Value| v["explained"]["pred_loo_dloss"].as_array().cloned().expect("array");
    for (x, y) in scores(&here).iter().zip(scores(&fixture)) {
        let (x, y) = (x.as_f64().expect("number"), y.as_f64().expect("number"));
        // Only libm's exp and ln may differ in the last bit; θ̂ is a minimum, so such
        // differences stay at rounding level.
        assert!((x - y).abs() <= 1e-9 * y.abs().max(1e-6), "{x} vs {y}");
    }
}

/// Post `value` through a `MessageChannel` (a structured clone, like a worker's
/// `postMessage`) and resolve with what arrives.
async fn through_channel(value: &wasm_bindgen::JsValue, transfer: &js_sys::Array) -> wasm_bindgen::JsValue {
    use wasm_bindgen::closure::Closure;
    let channel = web_sys::MessageChannel::new().expect("channel");
    let (tx, rx) = (channel.port1(), channel.port2());
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let on = Closure::once_into_js(move |ev: web_sys::MessageEvent| {
            let _ = resolve.call1(&wasm_bindgen::JsValue::NULL, &ev.data());
        });
        rx.set_onmessage(Some(on.unchecked_ref()));
    });
    tx.post_message_with_transferable(value, transfer).expect("posts");
    wasm_bindgen_futures::JsFuture::from(promise).await.expect("arrives")
}

fn now() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

/// Milliseconds to encode, post through a `MessageChannel`, and decode one message,
/// as JSON text and as JS values with transferred buffers; both must arrive intact.
async fn crossing_times(
    message: &attribution_explorer::protocol::Response,
) -> ([f64; 3], [f64; 3], usize, u32) {
    use attribution_explorer::protocol::Response;
    use attribution_explorer::web::transport::{decode_response, encode};
    let t0 = now();
    let text = serde_json::to_string(message).expect("json");
    let t1 = now();
    let arrived = through_channel(&wasm_bindgen::JsValue::from_str(&text), &js_sys::Array::new()).await;
    let t2 = now();
    let back: Response = serde_json::from_str(&arrived.as_string().expect("text")).expect("json");
    let t3 = now();
    assert_eq!(&back, message);
    let (value, transfer) = encode(message).expect("encodes");
    let t4 = now();
    assert!(transfer.length() > 0, "the bulk numbers travel as transferable buffers");
    let arrived = through_channel(&value, &transfer).await;
    let t5 = now();
    let back: Response = decode_response(arrived).expect("decodes");
    let t6 = now();
    assert_eq!(&back, message, "exactly the same message arrives");
    if let (Response::Trained { result: Ok(here), .. }, Response::Trained { result: Ok(sent), .. }) =
        (&back, message)
    {
        // The features stay in the array they arrived in, and read as they were sent.
        use attribution_explorer::protocol::FeatureRows;
        assert!(matches!(here.train_x, FeatureRows::Js(_)), "the features were copied into wasm");
        let (n, d) = (sent.train_y.len(), sent.feature_names.len());
        for i in [0, n / 2, n - 1] {
            assert_eq!(here.train_row(i), sent.train_row(i));
            assert_eq!(here.train_row(i).len(), d);
            assert_eq!(here.train_value(i, d - 1), sent.train_value(i, d - 1));
        }
        assert_eq!((here.train_row(n), here.train_value(0, d)), (vec![], None));
    }
    ([t1 - t0, t2 - t1, t3 - t2], [t4 - t3, t5 - t4, t6 - t5], text.len(), transfer.length())
}

#[wasm_bindgen_test]
async fn messages_cross_as_js_values_with_transferred_numbers() {
    use attribution_explorer::protocol::{Request, Response};
    use attribution_explorer::service::Service;
    // The default view, and the breast-cancer Methods view (every method's scores).
    let view =
        Response::Trained { job: 1, result: Ok(Box::new(train(&TrainSpec::default()).expect("trains"))) };
    let mut s = Service::new(js_sys::Date::now);
    let spec = TrainSpec {
        source: attribution_explorer::protocol::DataSource::Builtin {
            id: "breast_cancer".into(),
            params: Default::default(),
        },
        ..TrainSpec::default()
    };
    let mut out = Vec::new();
    s.handle(Request::Train { job: 1, spec }, &mut |r| out.push(r));
    s.handle(Request::Methods { job: 2, methods: page_methods(), settings: Default::default() }, &mut |r| {
        out.push(r)
    });
    let methods = out.pop().expect("methods view");
    // An upload named by an ID column, with an added point: every kind of row name
    // (ID, none) and of original row (file row, none) crosses packed.
    let mut text = String::from("id,x1,x2,y\n");
    for i in 0..40 {
        let (a, b) = ((i as f64 * 0.37).sin(), (i as f64 * 0.91).cos());
        text += &format!("A{i},{a:.3},{b:.3},{}\n", u8::from(a + b > 0.0));
    }
    s.handle(Request::Upload { job: 3, name: "mine.csv".into(), text }, &mut |_| {});
    let source = attribution_explorer::protocol::DataSource::Uploaded(
        attribution_explorer::engine::data::columns::UploadOptions {
            target: "y".into(),
            id_column: Some("id".into()),
            ..Default::default()
        },
    );
    let edits = attribution_explorer::protocol::Edits {
        added: vec![attribution_explorer::protocol::AddedPoint { xy: [0.1, 0.2], label: 1.0 }],
        ..Default::default()
    };
    s.handle(
        Request::Train { job: 4, spec: TrainSpec { source, edits, ..TrainSpec::default() } },
        &mut |r| out.push(r),
    );
    let uploaded = out.pop().expect("uploaded view");
    let Response::Trained { result: Ok(v), .. } = &uploaded else { panic!("{uploaded:?}") };
    assert!(v.train_names.0.iter().any(Option::is_none) && v.train_origin.iter().any(Option::is_none));
    assert!(matches!(
        v.train_names.get(0),
        Some(attribution_explorer::engine::data::columns::RowName::Id(..))
    ));
    for (name, message) in [
        ("default view", view),
        ("breast-cancer Methods view", methods),
        ("uploaded view with IDs", uploaded),
    ] {
        // Three rounds; the first pays for the JIT warming up, the last is printed.
        let mut times = crossing_times(&message).await;
        for _ in 0..2 {
            times = crossing_times(&message).await;
        }
        let ([je, jp, jd], [ve, vp, vd], bytes, buffers) = times;
        console_log!(
            "{name}: JSON {bytes} bytes: encode {je:.2} ms, post {jp:.2} ms, decode {jd:.2} ms (total {:.2}); JS values with {buffers} transferred buffers: encode {ve:.2} ms, post {vp:.2} ms, decode {vd:.2} ms (total {:.2})",
            je + jp + jd, ve + vp + vd
        );
    }
}

#[wasm_bindgen_test]
fn tick_labels_have_the_digits_their_axis_needs_and_no_negative_zero() {
    // An axis from −0.00014 to 0.00006 (ticks 0.00004 apart): five decimals are enough.
    assert_eq!(plot::tick(0.00004, -0.00014, 0.00006), "0.00004");
    assert_eq!(plot::tick(-1e-19, -0.00014, 0.00006), "0");
    assert_eq!(plot::tick(-0.04, -1.0, 1.0), "-0.04");
    assert_eq!(plot::tick(-0.004, -1.0, 1.0), "0");
    assert_eq!(plot::tick(0.5, -1.0, 1.0), "0.5");
    assert_eq!(plot::tick(250.0, 0.0, 1000.0), "250");
}

/// Run `request` split in `parts` shares on as many services trained alike (the page's
/// pool of workers, in one thread), then put the blocks together on the first.
fn pooled(
    parts: usize,
    request: impl Fn(attribution_explorer::protocol::Share) -> attribution_explorer::protocol::Request,
) -> (attribution_explorer::protocol::Response, attribution_explorer::service::Service) {
    use attribution_explorer::protocol::{Request, Response, Share};
    use attribution_explorer::service::Service;
    let mut blocks = Vec::new();
    let mut first = None;
    for share in Share::all(parts) {
        let mut s = Service::new(js_sys::Date::now);
        let mut out = Vec::new();
        s.handle(Request::Train { job: 1, spec: TrainSpec::default() }, &mut |r| out.push(r));
        s.handle(request(share), &mut |r| out.push(r));
        while s.busy() {
            s.step(&mut |r| out.push(r));
        }
        match out.pop() {
            Some(Response::PartDone { result: Ok(p), .. }) => blocks.push(*p),
            other => panic!("a block: {other:?}"),
        }
        first.get_or_insert(s);
    }
    let mut s = first.expect("a service");
    let mut out = Vec::new();
    s.handle(Request::Finish { job: 2, parts: blocks }, &mut |r| out.push(r));
    (out.pop().expect("a result"), s)
}

#[wasm_bindgen_test]
fn a_pool_in_the_browser_gives_the_native_numbers() {
    use attribution_explorer::protocol::{Request, Response};
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("fixtures/default_pool_jobs.json")).expect("fixture is JSON");
    let close = |x: f64, y: &serde_json::Value, what: &str| {
        let y = y.as_f64().expect("number");
        // Refits converge to the same optimum; only libm's exp/ln may differ in the
        // last bit, which Newton's steps carry no further than rounding.
        assert!((x - y).abs() <= 1e-9 * y.abs().max(1e-6), "{what}: {x} vs {y}");
    };
    let (Response::LeaveEachOutDone { result: Ok(loo), .. }, _) =
        pooled(2, |share| Request::LeaveEachOut { job: 2, share })
    else {
        panic!("leave-one-out")
    };
    assert_eq!(loo.workers, 2);
    for (x, y) in loo.actual.iter().zip(fixture["loo_actual"].as_array().expect("array")) {
        close(*x, y, "actual leave-one-out");
    }
    for (x, y) in loo.predicted.iter().zip(fixture["loo_predicted"].as_array().expect("array")) {
        close(*x, y, "predicted");
    }
    let (Response::LdsDone { result: Ok(lds), .. }, _) = pooled(3, |share| Request::Lds {
        job: 2,
        subsets: 10,
        alpha: 0.5,
        seed: 3,
        methods: vec![attribution_explorer::engine::methods::Method::GradDot],
        settings: Default::default(),
        share,
    }) else {
        panic!("LDS")
    };
    for ((_, x), y) in lds.values.iter().zip(fixture["lds"].as_array().expect("array")) {
        close(x.expect("an LDS value"), y, "LDS");
    }
    // TMC-Shapley: 3 permutations over 2 workers (2 and 1), then the Methods view on
    // the first, which shows the kept result. The fixture's settings (no truncation,
    // seed 4) are those of `tests/native/reproducibility.rs`.
    let settings = attribution_explorer::engine::methods::MethodParams {
        shapley_permutations: 3,
        shapley_truncation: 0.0,
        shapley_seed: 4,
        ..Default::default()
    };
    let (Response::ShapleyDone { result: Ok(kept), .. }, mut primary) =
        pooled(2, |share| Request::Shapley { job: 2, settings: settings.clone(), share })
    else {
        panic!("TMC-Shapley")
    };
    assert_eq!((kept.permutations, kept.workers), (3, 2));
    let mut out = Vec::new();
    let methods = vec![attribution_explorer::engine::methods::Method::TmcShapley];
    primary.handle(Request::Methods { job: 3, methods, settings }, &mut |r| out.push(r));
    let Some(Response::MethodsDone { result: Ok(m), .. }) = out.pop() else { panic!("Methods") };
    let tmc = m.rows.iter().find(|r| r.method.id() == "tmc_shapley").expect("a TMC-Shapley row");
    let expected = fixture["tmc"].as_array().expect("array");
    assert_eq!(tmc.scores.len(), expected.len());
    for (x, y) in tmc.scores.iter().zip(expected) {
        close(*x, y, "TMC-Shapley");
    }
}

#[wasm_bindgen_test]
fn the_worker_s_paired_exp_gives_the_library_s_bits_in_each_lane() {
    use attribution_explorer::engine::exp::exp_pair;
    // What `f64::exp` runs here: the libm crate's `exp` (Rust's wasm target links it).
    let same = |ours: f64, x: f64| ours.to_bits() == libm::exp(x).to_bits() || (ours.is_nan() && x.is_nan());
    // Each branch of e_exp.c and its edges (the thresholds of |x| at 2⁻²⁸, ln2 / 2,
    // 1.5 ln2 and 708, on both sides), zeros, infinities and NaN ...
    let edges = [
        0.0,
        -0.0,
        1e-300,
        3.7e-9,
        3.725_290_298_461_914e-9,
        0.346_573_590_279_972_6,
        0.346_573_590_279_973,
        1.039_720_770_839_917_9,
        1.039_720_770_839_918,
        1.0,
        707.999,
        708.0,
        709.78,
        745.2,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
    ];
    let edges: Vec<f64> = edges.iter().flat_map(|&x| [x, -x]).collect();
    // ... each next to every other in the two lanes, then a sweep of [-750, 750] and of
    // [-2, 2] (where the reduction switches), nudged off the grid, in pairs.
    let mut pairs: Vec<[f64; 2]> = edges.iter().flat_map(|&a| edges.iter().map(move |&b| [a, b])).collect();
    for k in 0..100_000u32 {
        let t = f64::from(k) / 100_000.0;
        pairs.push([
            -750.0 + 1500.0 * t + 1e-7 * f64::from(k % 97),
            -2.0 + 4.0 * t + 1e-12 * f64::from(k % 89),
        ]);
        pairs.push([-2.0 + 4.0 * t, -1.0 + 2.0 * t + 1e-13 * f64::from(k % 83)]);
    }
    for x in pairs {
        let e = exp_pair(x);
        assert!(same(e[0], x[0]) && same(e[1], x[1]), "exp({x:?}) = {e:?}");
    }
}
