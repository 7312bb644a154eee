//! The dashboard in a real browser: Debian's headless Chromium driven through chromedriver
//! (WebDriver) against a broker with live traffic from the Rust client. It loads every page,
//! creates a topic from the topics page, finds a message by key (whose body is a `<script>`
//! that must show as text and never run), resends a dead letter and sees it consumed, deletes
//! it, resets a group's offsets and sees the running consumer consume again, sends a test
//! message from a topic's page, and checks that bad input answers 4xx with a reason.
//! Screenshots go to `$CARGO_TARGET_TMPDIR/dashboard-screenshots/`.
//!
//! Without `chromium` and `chromedriver` the test says so and passes, unless
//! `FERROMQ_REQUIRE_BROWSER=1` (CI sets it), where a missing browser fails it.

mod client_util;
mod common;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use client_util::runtime;
use common::{mqadmin, start_broker, start_namesrv, START_TIMEOUT};
use fantoccini::{Client, ClientBuilder, Locator};
use ferromq_client::{AdminClient, ConsumeStatus, Message, Producer, PushConsumer};
use ferromq_testkit::{free_port, http_get, wait_for_port, Proc};
use serde_json::{json, Value};

const TOPIC: &str = "TopicDash";
const GROUP: &str = "CG_dash";
const PRODUCER_GROUP: &str = "PG_dash";
const XSS_BODY: &str = "<script>window.__xss = 1</script><b>not bold</b> & \"quoted\"";
const LEVELS: &str = "messageDelayLevel=1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s 1s";
/// Bound of every wait for the page or the cluster to reach a state.
const WAIT: Duration = Duration::from_secs(45);

type TestResult = Result<(), String>;

/// Chromium and chromedriver from Debian's packages, when installed.
fn browser() -> Option<(PathBuf, PathBuf)> {
    let find = |names: &[&str]| {
        names
            .iter()
            .flat_map(|n| ["/usr/bin", "/usr/local/bin"].map(|d| Path::new(d).join(n)))
            .find(|p| p.is_file())
    };
    Some((
        find(&["chromium", "chromium-browser"])?,
        find(&["chromedriver"])?,
    ))
}

/// (body, reconsume times) of every delivery to the test's consumer.
type Deliveries = Arc<Mutex<Vec<(String, i32)>>>;

fn deliveries_of(d: &Deliveries, body: &str) -> usize {
    d.lock().unwrap().iter().filter(|(b, _)| b == body).count()
}

#[test]
fn dashboard_pages_work_in_headless_chromium_against_live_traffic() {
    let Some((chromium, driver)) = browser() else {
        if std::env::var("FERROMQ_REQUIRE_BROWSER").as_deref() == Ok("1") {
            panic!("FERROMQ_REQUIRE_BROWSER=1 but chromium or chromedriver is missing: apt-get install -y chromium chromium-driver");
        }
        eprintln!("SKIPPED dashboard browser test: chromium and chromedriver are not installed (apt-get install -y chromium chromium-driver; FERROMQ_REQUIRE_BROWSER=1 makes this a failure)");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dashboard-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let ns = start_namesrv(dir.path());
    let http_port = free_port();
    let broker = start_broker(
        dir.path(),
        &ns.addr,
        "broker-dash",
        &format!("dashboardPort={http_port}\nbindAddress=127.0.0.1\n{LEVELS}"),
    );
    let http = format!("127.0.0.1:{http_port}");
    assert!(
        wait_for_port(&http, START_TIMEOUT),
        "no dashboard:\n{}",
        broker.proc.output()
    );
    // One retry, then the dead-letter queue: a failing message is there within seconds.
    let (code, out, err) = mqadmin(&[
        "updateSubGroup",
        "-n",
        &ns.addr,
        "-b",
        &broker.addr,
        "-g",
        GROUP,
        "-r",
        "1",
    ]);
    assert_eq!(code, 0, "{out}{err}");

    let wd_port = free_port();
    let _driver = Proc::spawn(
        "chromedriver",
        &driver,
        &[&format!("--port={wd_port}")],
        &dir.path().join("logs"),
        &[],
    );
    assert!(
        wait_for_port(&format!("127.0.0.1:{wd_port}"), START_TIMEOUT),
        "chromedriver did not start"
    );

    let rt = runtime();
    let result = rt.block_on(async {
        let caps = json!({
            "goog:chromeOptions": {
                "binary": chromium.to_str().unwrap(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu",
                         "--disable-dev-shm-usage", "--window-size=1366,1000"],
            }
        });
        let Value::Object(caps) = caps else {
            unreachable!()
        };
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{wd_port}"))
            .await
            .map_err(|e| format!("no WebDriver session: {e}"))?;
        let env = Env {
            c: client.clone(),
            base: format!("http://{http}"),
            http: http.clone(),
            ns: ns.addr.clone(),
            broker: broker.addr.clone(),
            shots: shots.clone(),
        };
        // Steps run in a task so that a panic still closes the browser below.
        let steps = tokio::spawn(async move { scenario(&env).await }).await;
        let _ = client.close().await;
        match steps {
            Ok(r) => r,
            Err(e) => Err(format!("the scenario panicked: {e}")),
        }
    });
    if let Err(e) = result {
        panic!("{e}\nbroker output:\n{}", broker.proc.output());
    }
    eprintln!("screenshots in {}", shots.display());
}

struct Env {
    c: Client,
    base: String,
    http: String,
    ns: String,
    broker: String,
    shots: PathBuf,
}

impl Env {
    async fn goto(&self, path: &str) -> TestResult {
        self.c
            .goto(&format!("{}{path}", self.base))
            .await
            .map_err(|e| format!("goto {path}: {e}"))
    }

    /// Text of the element at `css`, or "" when it is not there.
    async fn text(&self, css: &str) -> String {
        match self.c.find(Locator::Css(css)).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// Loads `path` until the element at `css` holds `want`.
    async fn wait_page_text(&self, path: &str, css: &str, want: &str) -> TestResult {
        let deadline = Instant::now() + WAIT;
        loop {
            self.goto(path).await?;
            let text = self.text(css).await;
            if text.contains(want) {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "{path}: {css} never showed {want:?}; last text:\n{text}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(700)).await;
        }
    }

    /// Submits the API form `form_css` and waits for its answer; Err with the answer when it
    /// is not a success.
    async fn submit(&self, form_css: &str) -> Result<String, String> {
        let button = self
            .c
            .find(Locator::Css(&format!("{form_css} button")))
            .await
            .map_err(|e| format!("no button in {form_css}: {e}"))?;
        button.click().await.map_err(|e| e.to_string())?;
        self.submit_answer(form_css).await
    }

    /// Waits for the answer of the API form `form_css` (already submitted).
    async fn submit_answer(&self, form_css: &str) -> Result<String, String> {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(pre) = self
                .c
                .find(Locator::Css(&format!("{form_css} pre.result")))
                .await
            {
                let class = pre.attr("class").await.ok().flatten().unwrap_or_default();
                let text = pre.text().await.unwrap_or_default();
                if class.contains("ok") && text != "…" && !text.is_empty() {
                    return Ok(text);
                }
                if class.contains("fail") {
                    return Err(format!("{form_css} failed: {text}"));
                }
            }
            if Instant::now() > deadline {
                return Err(format!("{form_css} got no answer"));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn set(&self, css: &str, value: &str) -> TestResult {
        let e = self
            .c
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("no {css}: {e}"))?;
        e.clear().await.map_err(|e| e.to_string())?;
        e.send_keys(value).await.map_err(|e| e.to_string())
    }

    async fn shot(&self, name: &str) -> TestResult {
        let png = self.c.screenshot().await.map_err(|e| e.to_string())?;
        std::fs::write(self.shots.join(name), png).map_err(|e| e.to_string())
    }

    /// POSTs `body` to `path` from the page (the browser's fetch); (status, answer).
    async fn post(&self, path: &str, body: Value) -> Result<(u64, Value), String> {
        let script = "const [path, body, done] = arguments;
            fetch(path, {method: 'POST', headers: {'Content-Type': 'application/json'},
                         body: JSON.stringify(body)})
              .then(r => r.json().then(j => done([r.status, j])))
              .catch(e => done([0, {error: String(e)}]));";
        let v = self
            .c
            .execute_async(script, vec![json!(path), body])
            .await
            .map_err(|e| e.to_string())?;
        Ok((v[0].as_u64().unwrap_or(0), v[1].clone()))
    }
}

async fn wait_for(what: &str, mut check: impl FnMut() -> bool) -> TestResult {
    let deadline = Instant::now() + WAIT;
    while !check() {
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what}"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

async fn scenario(e: &Env) -> TestResult {
    // Overview: the broker is listed with its version.
    e.wait_page_text("/", "#brokers", "broker-dash").await?;
    if !e.text("#brokers").await.contains("V5_") {
        return Err(format!(
            "no version on the overview:\n{}",
            e.text("#brokers").await
        ));
    }

    // Create a topic from the page.
    e.goto("/topics").await?;
    e.set("#create-topic input[name=topic]", TOPIC).await?;
    e.set("#create-topic input[name=readQueueNums]", "4")
        .await?;
    e.set("#create-topic input[name=writeQueueNums]", "4")
        .await?;
    let answer = e.submit("#create-topic").await?;
    if !answer.contains(TOPIC) {
        return Err(format!("create answered {answer:?}"));
    }
    e.wait_page_text("/topics", "#topics", TOPIC).await?;
    let admin = AdminClient::connect(Some(&e.ns)).map_err(|x| x.to_string())?;
    let route = admin.topic_route(TOPIC).await.map_err(|x| x.to_string())?;
    if route.queue_datas.first().map(|q| q.write_queue_nums) != Some(4) {
        return Err(format!("the page's topic has the wrong route: {route:?}"));
    }
    e.shot("topics.png").await?;

    // Traffic: a consumer that fails the poison message while `failing` is set.
    let seen: Deliveries = Arc::default();
    let failing = Arc::new(AtomicBool::new(true));
    let (s, f) = (Arc::clone(&seen), Arc::clone(&failing));
    let consumer = PushConsumer::builder(GROUP)
        .namesrv_addr(e.ns.clone())
        .subscribe(TOPIC, "*")
        .listener_concurrently(move |msgs, _ctx| {
            let (s, f) = (Arc::clone(&s), Arc::clone(&f));
            async move {
                let mut status = ConsumeStatus::Success;
                for m in &msgs {
                    let body = String::from_utf8_lossy(&m.body).into_owned();
                    if body.starts_with("poison") && f.load(Ordering::SeqCst) {
                        status = ConsumeStatus::ReconsumeLater;
                    }
                    s.lock().unwrap().push((body, m.reconsume_times));
                }
                status
            }
        })
        .build()
        .map_err(|x| x.to_string())?;
    consumer.start().await.map_err(|x| x.to_string())?;
    let producer = Producer::builder(PRODUCER_GROUP)
        .namesrv_addr(e.ns.clone())
        .build()
        .map_err(|x| x.to_string())?;
    let result = traffic_and_pages(e, &producer, &seen, &failing).await;
    producer.shutdown().await;
    consumer.shutdown().await;
    result
}

async fn traffic_and_pages(
    e: &Env,
    producer: &Producer,
    seen: &Deliveries,
    failing: &AtomicBool,
) -> TestResult {
    let send = |m: Message| async move { producer.send(m).await.map_err(|x| x.to_string()) };
    for i in 0..20 {
        send(Message::new(TOPIC, format!("m-{i}")).with_key(format!("k-{i}"))).await?;
    }
    send(Message::new(TOPIC, "poison-1").with_key("poison-key")).await?;
    let xss = send(Message::new(TOPIC, XSS_BODY).with_key("xss-key")).await?;
    wait_for("the 20 messages to be consumed", || {
        (0..20).all(|i| deliveries_of(seen, &format!("m-{i}")) >= 1)
    })
    .await?;

    // Find a message by key; its <script> body shows as text and never runs.
    e.goto("/messages").await?;
    e.set("#by-key input[name=topic]", TOPIC).await?;
    e.set("#by-key input[name=key]", "xss-key").await?;
    e.c.find(Locator::Css("#by-key button"))
        .await
        .map_err(|x| x.to_string())?
        .click()
        .await
        .map_err(|x| x.to_string())?;
    let found =
        e.c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#results"))
            .await;
    let results = match found {
        Ok(r) => r,
        Err(x) => return Err(format!("no results table: {x}\n{}", e.text("main").await)),
    };
    let text = results.text().await.map_err(|x| x.to_string())?;
    if !text.contains("xss-key") || !text.contains("<script>") {
        return Err(format!("search by key found:\n{text}"));
    }
    e.c.find(Locator::Css("#results tbody tr td a"))
        .await
        .map_err(|x| x.to_string())?
        .click()
        .await
        .map_err(|x| x.to_string())?;
    let body =
        e.c.wait()
            .at_most(WAIT)
            .for_element(Locator::Css("#message-body"))
            .await
            .map_err(|x| format!("no message detail: {x}"))?;
    let shown = body.text().await.map_err(|x| x.to_string())?;
    if shown != XSS_BODY {
        return Err(format!("the detail shows {shown:?}, not the body as text"));
    }
    let ran =
        e.c.execute(
            "return window.__xss === undefined && !document.querySelector('main b');",
            vec![],
        )
        .await
        .map_err(|x| x.to_string())?;
    if ran != json!(true) {
        return Err("the message body was interpreted as HTML".into());
    }
    if !e.text("#message-properties").await.contains("xss-key") {
        return Err("the detail has no KEYS property".into());
    }
    e.shot("message.png").await?;

    // The poison message reaches the DLQ; the page resends it and the consumer takes it.
    e.wait_page_text(
        &format!("/dlq?group={GROUP}"),
        "#dead-letters",
        "poison-key",
    )
    .await?;
    e.wait_page_text("/dlq", "#dlq-topics", GROUP).await?;
    e.goto(&format!("/dlq?group={GROUP}")).await?;
    failing.store(false, Ordering::SeqCst);
    let before = deliveries_of(seen, "poison-1");
    let answer = e.submit("#dead-letters form.api").await?;
    if !answer.contains(TOPIC) {
        return Err(format!("resend answered {answer:?}"));
    }
    e.shot("dlq.png").await?;
    wait_for("the resent dead letter to be consumed", || {
        deliveries_of(seen, "poison-1") > before
    })
    .await?;
    // "Resend all" asks first, then resends every dead letter of the group (one here).
    let before = deliveries_of(seen, "poison-1");
    e.c.find(Locator::Css("#resend-all button"))
        .await
        .map_err(|x| x.to_string())?
        .click()
        .await
        .map_err(|x| x.to_string())?;
    e.c.accept_alert()
        .await
        .map_err(|x| format!("no confirmation: {x}"))?;
    let answer = e.submit_answer("#resend-all").await?;
    if !answer.contains("resent 1 of 1") {
        return Err(format!("resend all answered {answer:?}"));
    }
    wait_for(
        "the dead letters resent by resend all to be consumed",
        || deliveries_of(seen, "poison-1") > before,
    )
    .await?;
    // "Delete" asks first, then the dead letter is gone from the page.
    e.goto(&format!("/dlq?group={GROUP}")).await?;
    let delete = "#dead-letters form[id^='delete-']";
    e.c.find(Locator::Css(&format!("{delete} button")))
        .await
        .map_err(|x| x.to_string())?
        .click()
        .await
        .map_err(|x| x.to_string())?;
    e.c.accept_alert()
        .await
        .map_err(|x| format!("no confirmation: {x}"))?;
    let answer = e.submit_answer(delete).await?;
    if !answer.contains("deleted") {
        return Err(format!("delete answered {answer:?}"));
    }
    e.goto(&format!("/dlq?group={GROUP}")).await?;
    if e.text("#dead-letters").await.contains("poison-key") {
        return Err("the deleted dead letter is still listed".into());
    }

    // Search by unique key and by queue and offset.
    e.wait_page_text(
        &format!("/messages?by=id&topic={TOPIC}&id={}", xss.msg_id),
        "#results",
        "xss-key",
    )
    .await?;
    e.wait_page_text(
        &format!("/messages?by=queue&topic={TOPIC}&broker=broker-dash&queue=0&offset=0"),
        "#results",
        "m-",
    )
    .await?;

    // Groups: listed with the client; reset to the start and the running consumer moves.
    e.wait_page_text("/groups", "#groups", GROUP).await?;
    e.wait_page_text(
        &format!("/groups/view?group={GROUP}"),
        "#group-clients",
        "127.0.0.1",
    )
    .await?;
    let queues = e.text("#group-queues").await;
    if !queues.contains(TOPIC) {
        return Err(format!(
            "no queue of {TOPIC} in the group's page:\n{queues}"
        ));
    }
    let before = deliveries_of(seen, "m-0");
    e.c.find(Locator::Css("#reset-offset select[name=topic]"))
        .await
        .map_err(|x| x.to_string())?
        .select_by_value(TOPIC)
        .await
        .map_err(|x| x.to_string())?;
    e.set("#reset-offset input[name=timestamp]", "0").await?;
    e.submit("#reset-offset").await?;
    wait_for("the consumer to consume again after the reset", || {
        deliveries_of(seen, "m-0") > before
    })
    .await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    e.goto(&format!("/groups/view?group={GROUP}")).await?;
    e.shot("group.png").await?;

    // A topic's page: queues, route, and a test message the consumer receives.
    e.wait_page_text(
        &format!("/topics/view?topic={TOPIC}"),
        "#topic-route",
        "broker-dash",
    )
    .await?;
    e.set("#send-message input[name=keys]", "page-key").await?;
    e.set("#send-message textarea[name=body]", "hello from the page")
        .await?;
    e.submit("#send-message").await?;
    wait_for("the page's test message to be consumed", || {
        deliveries_of(seen, "hello from the page") >= 1
    })
    .await?;

    // Skip the backlog: every queue's offset goes to its end.
    e.goto(&format!("/groups/view?group={GROUP}")).await?;
    e.c.find(Locator::Css("#skip-backlog select[name=topic]"))
        .await
        .map_err(|x| x.to_string())?
        .select_by_value(TOPIC)
        .await
        .map_err(|x| x.to_string())?;
    let answer = e.submit("#skip-backlog").await?;
    if !answer.contains("broker-dash") {
        return Err(format!("skip answered {answer:?}"));
    }

    // Delete a group from its page (after a confirmation).
    let (code, out, err) = tokio::task::spawn_blocking({
        let (ns, broker) = (e.ns.clone(), e.broker.clone());
        move || mqadmin(&["updateSubGroup", "-n", &ns, "-b", &broker, "-g", "CG_gone"])
    })
    .await
    .map_err(|x| x.to_string())?;
    if code != 0 {
        return Err(format!("updateSubGroup: {out}{err}"));
    }
    let admin = AdminClient::connect(Some(&e.ns)).map_err(|x| x.to_string())?;
    let has_group = |admin: AdminClient, broker: String| async move {
        admin
            .all_subscription_group(&broker)
            .await
            .map(|w| w.subscription_group_table.contains_key("CG_gone"))
            .map_err(|x| x.to_string())
    };
    if !has_group(admin.clone(), e.broker.clone()).await? {
        return Err("CG_gone was not created".into());
    }
    e.goto("/groups/view?group=CG_gone").await?;
    e.c.find(Locator::Css("#delete-group button"))
        .await
        .map_err(|x| x.to_string())?
        .click()
        .await
        .map_err(|x| x.to_string())?;
    e.c.accept_alert()
        .await
        .map_err(|x| format!("no confirmation: {x}"))?;
    e.submit_answer("#delete-group").await?;
    if has_group(admin, e.broker.clone()).await? {
        return Err("the page did not delete CG_gone".into());
    }

    // Producers and config.
    e.wait_page_text(
        &format!("/producers?group={PRODUCER_GROUP}&topic={TOPIC}"),
        "#producers",
        "127.0.0.1",
    )
    .await?;
    e.wait_page_text("/config", "#broker-config", "broker-dash")
        .await?;
    e.shot("config.png").await?;

    // The overview's rate chart has points once the sampler has two samples.
    e.goto("/").await?;
    e.c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#chart-rates[data-drawn]"))
        .await
        .map_err(|x| format!("the rate chart was never drawn: {x}"))?;
    e.shot("overview.png").await?;
    e.goto("/groups").await?;
    e.c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css("#chart-lag[data-drawn]"))
        .await
        .map_err(|x| format!("the lag chart was never drawn: {x}"))?;
    e.shot("groups.png").await?;

    bad_input(e).await
}

/// User mistakes answer 4xx with the reason, never 500.
async fn bad_input(e: &Env) -> TestResult {
    let cases = [
        (
            "/api/topics",
            json!({"topic": TOPIC, "readQueueNums": "lots"}),
            400,
            "readQueueNums",
        ),
        (
            "/api/topics",
            json!({"readQueueNums": "4"}),
            400,
            "topic is required",
        ),
        (
            "/api/topics",
            json!({"topic": "bad topic!", "perm": "6"}),
            400,
            "",
        ),
        (
            "/api/groups/reset",
            json!({"group": GROUP, "topic": TOPIC, "timestamp": "yesterday"}),
            400,
            "yesterday",
        ),
        (
            "/api/topics/send",
            json!({"topic": TOPIC, "body": ""}),
            400,
            "body is required",
        ),
        (
            "/api/dlq/resend",
            json!({"group": GROUP, "id": "not-an-id"}),
            404,
            "",
        ),
    ];
    for (path, body, status, reason) in cases {
        let (got, answer) = e.post(path, body.clone()).await?;
        let error = answer["error"].as_str().unwrap_or("");
        if got != status || !error.contains(reason) || error.is_empty() {
            return Err(format!(
                "POST {path} {body}: {got} {answer}, expected {status} with {reason:?}"
            ));
        }
    }
    let http = e.http.clone();
    let gets = tokio::task::spawn_blocking(move || {
        [
            "/topics/view?topic=NoSuchTopicHere",
            "/api/messages?by=key&topic=TopicDash",
            "/api/messages?by=sideways&topic=TopicDash",
            "/messages/view?topic=TopicDash&id=zzz",
            "/api/no/such/thing",
        ]
        .map(|p| (p, http_get(&http, p)))
    })
    .await
    .map_err(|x| x.to_string())?;
    for (path, (status, body)) in gets {
        if !(400..500).contains(&status) || body.trim().is_empty() {
            return Err(format!("GET {path}: {status} {body}"));
        }
    }
    Ok(())
}
